import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import type { Context } from '../context.js';

/**
 * At most `maxPerUser` live subscriptions per Kubernetes user, over WebSocket
 * and SSE together; past it a new one gets TOO_MANY_SUBSCRIPTIONS (HTTP 429 for
 * SSE). Placed after the rate limit, so a refused operation holds no slot.
 */
export function useSubscriptionLimits(maxPerUser: number): Plugin<Context> {
  const live = new Map<string, number>();
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const user = args.contextValue.caller.username;
      const n = live.get(user) ?? 0;
      if (n >= maxPerUser) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`At most ${maxPerUser} live subscriptions per user; end one first.`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', http: { status: 429 } },
            }),
          ],
        });
        return;
      }
      live.set(user, n + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (live.get(user) ?? 1) - 1;
        if (left > 0) live.set(user, left);
        else live.delete(user);
      };
      // An SSE client that goes away may leave its stream waiting on a write that never drains.
      (args.contextValue as Partial<YogaInitialContext>).request?.signal.addEventListener('abort', release, { once: true });
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(releasingWhenDone(result, release));
          else release();
        },
        onSubscribeError: release,
      };
    },
  };
}

/**
 * The same stream, calling `release` once when it ends for any reason:
 * completed, returned by the transport, or failed (a failed `next()` is never
 * followed by `return()`, so envelop's own `onEnd` would miss it).
 */
function releasingWhenDone<T>(source: AsyncIterable<T>, release: () => void): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const wrapped: AsyncGenerator<T> = {
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) release();
        return result;
      } catch (err) {
        release();
        throw err;
      }
    },
    async return(value?: unknown) {
      release();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(err?: unknown) {
      release();
      if (iterator.throw) return iterator.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]() {
      return wrapped;
    },
    async [Symbol.asyncDispose]() {
      await wrapped.return(undefined);
    },
  };
  return wrapped;
}
