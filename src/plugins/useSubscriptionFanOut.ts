import { createSourceEventStream, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

/**
 * Subscriptions are served by the fan-out (src/subscriptions/FanOut.ts): a
 * subscription field's stream already carries its results, executed and
 * serialized once per group, so the subscribe function is graphql-js's
 * `createSourceEventStream` alone, without the per-subscriber execution of
 * each event that `subscribe` would add. Errors before the stream (arguments,
 * a refused review) come back as a result, as with `subscribe`.
 */
export function useSubscriptionFanOut(): Plugin<Context> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn((args: ExecutionArgs) => createSourceEventStream(args) as never);
    },
  };
}
