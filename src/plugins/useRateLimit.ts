import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { estimatedCost } from './useQueryLimits.js';

export interface RateLimit {
  /** Operations a caller may burst. */
  burst: number;
  /** Operations per second a caller may sustain. */
  perSecond: number;
  /** Estimated cost (docs/security.md, "Cost") a caller may burst. */
  costBurst: number;
  /** Estimated cost per second a caller may sustain: what bounds one tenant's share of the process. */
  costPerSecond: number;
  /** Subscriptions a caller may start at once (they count here, not as operations). */
  subscribeBurst: number;
  /** Subscriptions per second a caller may start, sustained. */
  subscribePerSecond: number;
}

/**
 * 50 operations a second; 20,000 cost a second (one operation at the cost limit, or hundreds of ordinary ones),
 * with a burst of five such operations. One tenant looping the most expensive operation the limits admit then
 * holds the process a small fraction of the time (the hostile benchmark, docs/benchmarks.md).
 */
export const defaultRateLimit: RateLimit = {
  burst: 200,
  perSecond: 50,
  costBurst: 100_000,
  costPerSecond: 20_000,
  // A start joins a group (one access review, mostly cached; no execution): about 0.1 ms of the event loop, so a
  // caller starting and ending subscriptions at this rate holds a small share of it; the live ones are capped per
  // user (MAX_SUBSCRIPTIONS_PER_USER) and per socket. 10,000 start in about 15 s.
  subscribeBurst: 2_000,
  subscribePerSecond: 600,
};

/** What a caller past one of its rates is told (HTTP 429, RATE_LIMITED). */
export const rateLimitedMessage = 'Too many requests, or too costly ones; slow down.';

/** A token bucket: `capacity` tokens, refilled at `perSecond`. */
class Bucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Takes `n` tokens if there are; else the seconds until there will be (at least 1). */
  take(n: number, now: number): true | number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    const need = Math.min(n, this.capacity); // an operation dearer than the whole burst waits for a full bucket
    if (this.tokens >= need) {
      this.tokens -= need;
      return true;
    }
    return Math.max(1, Math.ceil((need - this.tokens) / this.perSecond));
  }

  /** Gives back `n` tokens taken for what turned out to be charged elsewhere. */
  refund(n: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + n);
  }
}

/**
 * Three token buckets per caller (by Kubernetes user name), counting operations, their estimated cost, and
 * subscription starts: past one, the operation gets RATE_LIMITED (HTTP 429) with `Retry-After`. Two plugins:
 * `operations` before useQueryLimits and `cost` after it, as the cost is known once useQueryLimits has reckoned it.
 *
 * `arrive` is for the HTTP server (src/app.ts), which knows the caller before yoga sees the request: it spends the
 * request's operation at once, malformed or not, and past the rate the server answers 429 itself, before yoga reads,
 * parses or validates anything: a flood costs the process as little as it can. Such a request carries
 * `operationSpent` in its server context; when it turns out to start a subscription, the operation is given back
 * and a start is spent instead. Other operations (a WebSocket's, `yoga.fetch`'s) spend theirs when they execute or
 * subscribe.
 */
export function useRateLimit(limit: Partial<RateLimit> = {}): {
  operations: Plugin<Context>;
  cost: Plugin<Context>;
  arrive: (user: string) => true | number;
} {
  const l = { ...defaultRateLimit, ...limit };
  const callers = new Map<string, { operations: Bucket; cost: Bucket; subscriptions: Bucket }>();
  const bucketsOf = (user: string) => {
    const buckets = callers.get(user) ?? {
      operations: new Bucket(l.burst, l.perSecond),
      cost: new Bucket(l.costBurst, l.costPerSecond),
      subscriptions: new Bucket(l.subscribeBurst, l.subscribePerSecond),
    };
    callers.delete(user); // re-insert: the Map stays in least-recently-used order
    callers.set(user, buckets);
    if (callers.size > 100_000) callers.delete(callers.keys().next().value as string);
    return buckets;
  };
  const limited = (retryAfter: number, http: boolean) =>
    new GraphQLError(rateLimitedMessage, {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds: retryAfter,
        ...(http ? { http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } } : {}),
      },
    });
  /** A plugin that takes from one bucket: `true`, or the seconds to wait (`subscribe`: for a subscription's start). */
  const charging = (
    take: (ctx: Context) => true | number,
    subscribe: (ctx: Context) => true | number = take,
  ): Plugin<Context> => ({
    onExecute({ args }) {
      const taken = take(args.contextValue);
      if (taken !== true) throw limited(taken, true);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      // An error for this subscription alone: thrown here, graphql-ws would close the whole socket.
      const taken = subscribe(args.contextValue);
      if (taken !== true) setResultAndStopExecution({ errors: [limited(taken, false)] });
    },
  });
  /** Set by the HTTP server on a request whose operation `arrive` spent. */
  const spentOnArrival = (ctx: Context) => (ctx as Context & { operationSpent?: boolean }).operationSpent === true;
  const operations = charging(
    (ctx) => (spentOnArrival(ctx) ? true : bucketsOf(ctx.caller.username).operations.take(1, Date.now())),
    // A subscription's start is rationed by its own bucket: it is cheap (src/subscriptions/FanOut.ts), and many
    // at once are ordinary (a dashboard, a router), where as many queries at once are not.
    (ctx) => {
      const buckets = bucketsOf(ctx.caller.username);
      if (spentOnArrival(ctx)) buckets.operations.refund(1);
      return buckets.subscriptions.take(1, Date.now());
    },
  );
  return {
    operations,
    arrive: (user) => bucketsOf(user).operations.take(1, Date.now()),
    // A subscription's estimated cost is what each of its events costs, once per group, not what its start costs:
    // its start is charged to the start budget above (its cost still has to be within MAX_COST).
    cost: charging(
      (ctx) => bucketsOf(ctx.caller.username).cost.take(estimatedCost(ctx) ?? 0, Date.now()),
      () => true,
    ),
  };
}
