import { type GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics } from '../metrics.js';

/** Operation durations by type and name, errors by code, subscription events by field. */
export function useMetrics(metrics: GatewayMetrics): Plugin {
  const countErrors = (errors: readonly (Error | GraphQLError)[] | undefined, fallback = 'INTERNAL_SERVER_ERROR') => {
    for (const e of errors ?? []) {
      const code = 'extensions' in e ? (e.extensions as { code?: unknown } | undefined)?.code : undefined;
      metrics.errors.inc({ code: String(code ?? fallback) });
    }
  };
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      const stop = metrics.operationDuration.startTimer({
        type: op?.operation ?? 'unknown',
        name: op?.name?.value ?? 'anonymous',
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
      const kind = field && 'name' in field ? field.name.value : 'unknown';
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
