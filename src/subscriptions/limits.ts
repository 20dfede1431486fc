/** Per subscriber (docs/subscriptions.md). */
export interface SubscriptionLimits {
  /** Pending events past which a subscriber's events are coalesced per object. */
  softLimit: number;
  /** Pending objects past which the subscription ends with SLOW_CONSUMER. */
  hardLimit: number;
  /**
   * How often a live subscription's right to watch is checked again (revoked access ends it), and how often a
   * WebSocket or SSE session's token is reviewed again (a token that no longer reviews ends the session).
   */
  accessRecheckMs: number;
  /** Live subscriptions per user, over WebSocket and SSE together; past it TOO_MANY_SUBSCRIPTIONS. */
  maxPerUser: number;
}

export const defaultSubscriptionLimits: SubscriptionLimits = {
  softLimit: 256,
  hardLimit: 4096,
  accessRecheckMs: 30_000,
  maxPerUser: 1_000,
};
