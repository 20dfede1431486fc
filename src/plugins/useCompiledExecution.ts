import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, getVariableValues } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics.js';

/** Compiled operations kept by document text: as many as yoga's own parse cache keeps documents. */
export const compiledOperationsKept = 1024;

type JitCache = NonNullable<Parameters<typeof useGraphQlJit>[1]>['cache'];
type CompiledEntry = Parameters<NonNullable<JitCache>['set']>[1];

/**
 * Queries and mutations run as JavaScript compiled once per document by
 * graphql-jit (docs/decisions/017-compiled-execution.md: off by default, since
 * some answers differ, `_entities` among them). Subscriptions never
 * do: graphql-jit 0.8 hands a subscription field the operation's variables as
 * its arguments, so inline filters would be ignored; they keep graphql-js's
 * `createSourceEventStream` (useSubscriptionFanOut).
 *
 * Must be the first plugin: it replaces the execute function, so a plugin
 * before it that wraps the execute function (tracing) would lose its wrapper.
 * Every plugin after it still sees each operation (onExecute, onExecuteDone),
 * and the execution budget's resolver wrappers are compiled in, since they sit
 * on the schema's fields.
 */
export function useCompiledExecution(metrics: GatewayMetrics, logger: Logger): Plugin {
  // The library keeps a compiled operation per document object (a WeakMap, bounded by yoga's parse cache) and, on a
  // miss there, looks here by document text: a set is one compilation.
  const byText = new LRUCache<string, CompiledEntry>({ max: compiledOperationsKept });
  const cache: JitCache = {
    get: (key) => byText.get(key),
    set: (key, value) => {
      metrics.compiledOperations.inc();
      byText.set(key, value);
    },
  };
  return useGraphQlJit(
    {},
    {
      cache,
      enableIf: (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        if (!operation || operation.operation === 'subscription') return false;
        // Variables that do not coerce are the caller's error: yoga's executor answers them with HTTP 400 and their
        // locations, graphql-jit with 200 and neither, so such an operation is left to yoga's executor.
        const coerced = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}, {
          maxErrors: 1,
        });
        if ('errors' in coerced) return false;
        metrics.compiledExecutions.inc();
        return true;
      },
      // Such a document's run answers with the compiler's errors; the library would print them to the console.
      onError: (result) => logger.warn({ errors: result.errors?.map((e) => e.message) }, 'operation did not compile'),
    },
  ) as Plugin;
}
