import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

export interface RateLimit {
  /** Operations a caller may burst. */
  burst: number;
  /** Operations per second a caller may sustain. */
  perSecond: number;
}

export const defaultRateLimit: RateLimit = { burst: 200, perSecond: 50 };

/** A token bucket per caller (by Kubernetes user name): past it, operations get RATE_LIMITED (HTTP 429). */
export function useRateLimit(limit: Partial<RateLimit> = {}): Plugin<Context> {
  const { burst, perSecond } = { ...defaultRateLimit, ...limit };
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (user: string): boolean => {
    const now = Date.now();
    const b = buckets.get(user) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    buckets.delete(user); // re-insert: the Map stays in least-recently-used order
    buckets.set(user, b);
    if (buckets.size > 100_000) buckets.delete(buckets.keys().next().value as string);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const refuse = () => {
    throw new GraphQLError('Too many requests; slow down.', {
      extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'Retry-After': '1' } } },
    });
  };
  return {
    onExecute({ args }) {
      if (!take(args.contextValue.caller.username)) refuse();
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      // An error for this subscription alone: thrown here, graphql-ws would close the whole socket.
      if (!take(args.contextValue.caller.username)) {
        setResultAndStopExecution({
          errors: [new GraphQLError('Too many requests; slow down.', { extensions: { code: 'RATE_LIMITED' } })],
        });
      }
    },
  };
}
