import { type GraphQLError, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics } from '../metrics.js';

/**
 * Operation durations by type and name, errors by code, subscription events by
 * field. Names chosen by callers go through `GatewayMetrics.operationLabel`, so
 * the label sets stay bounded.
 */
export function useMetrics(metrics: GatewayMetrics): Plugin {
  const countErrors = (errors: readonly (Error | GraphQLError)[] | undefined, fallback = 'INTERNAL_SERVER_ERROR') => {
    for (const e of errors ?? []) {
      const code = 'extensions' in e ? (e.extensions as { code?: unknown } | undefined)?.code : undefined;
      // Codes are the gateway's own constants; anything else is one label.
      const label = String(code ?? fallback);
      metrics.errors.inc({ code: /^[A-Z][A-Z_]{0,39}$/.test(label) ? label : 'other' });
    }
  };
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      const stop = metrics.operationDuration.startTimer({
        type: op?.operation ?? 'unknown',
        name: metrics.operationLabel(op?.name?.value),
      });
      return {
        onExecuteDone({ result }) {
          stop();
          if (result && 'errors' in result) countErrors(result.errors);
        },
      };
    },
    onSubscribe({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      const field = op?.selectionSet.selections[0];
      // A field of the schema's Subscription type (validated); a fragment's name would be the caller's choice.
      const kind = field?.kind === Kind.FIELD ? field.name.value : 'other';
      return {
        onSubscribeResult() {
          return {
            onNext({ result }) {
              metrics.eventsDelivered.inc({ kind });
              if ('errors' in result) countErrors(result.errors);
            },
          };
        },
        onSubscribeError({ error }) {
          countErrors([error as GraphQLError]);
        },
      };
    },
    onValidate() {
      return ({ result }) => countErrors(result, 'GRAPHQL_VALIDATION_FAILED');
    },
  };
}
