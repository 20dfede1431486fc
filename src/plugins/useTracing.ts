import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const tracer = trace.getTracer('tekton-resource-gateway');

/**
 * A span per GraphQL operation, active while it executes, so the Kubernetes
 * calls its resolvers make become its children. Without a tracer provider
 * (tracing off) every span is a no-op.
 */
export function useTracing(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = getOperationAST(args.document, args.operationName);
      const span = tracer.startSpan(`graphql.${op?.operation ?? 'operation'} ${op?.name?.value ?? 'anonymous'}`, {
        attributes: { 'graphql.operation.type': op?.operation ?? '', 'graphql.operation.name': op?.name?.value ?? '' },
      });
      setExecuteFn((a) => context.with(trace.setSpan(context.active(), span), () => executeFn(a)));
      return {
        onExecuteDone({ result }) {
          if (result && 'errors' in result && result.errors?.length) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.errors[0]?.message });
          }
          span.end();
        },
      };
    },
  };
}
