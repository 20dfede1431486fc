import { LRUCache } from 'lru-cache';

export interface AuthFailureLimit {
  /** TokenReviews of unknown tokens that may fail per client address in one window. */
  maxFailures: number;
  windowMs: number;
  /** Client addresses tracked at once; the least recently seen is forgotten first. */
  maxClients: number;
}

export const defaultAuthFailureLimit: AuthFailureLimit = { maxFailures: 20, windowMs: 60_000, maxClients: 100_000 };

interface Window {
  failed: number;
  /** Reviews in flight: each may still fail, so each holds a place. */
  pending: number;
}

/**
 * Counts failed TokenReviews per client address in a fixed window that starts
 * at the first one. A client at its limit gets no further TokenReview of a token
 * the gateway does not already know until the window ends, so random tokens
 * cannot be turned into apiserver load.
 */
export class AuthFailureLimiter {
  private readonly windows: LRUCache<string, Window>;
  private readonly maxFailures: number;

  constructor(limit: Partial<AuthFailureLimit> = {}) {
    const { maxFailures, windowMs, maxClients } = { ...defaultAuthFailureLimit, ...limit };
    this.maxFailures = maxFailures;
    this.windows = new LRUCache<string, Window>({ max: maxClients, ttl: windowMs, ttlAutopurge: true });
  }

  /**
   * A place for one TokenReview from `client`, or undefined when the client is
   * at its limit. Call the returned function with the review's outcome.
   */
  begin(client: string): ((failed: boolean) => void) | undefined {
    let window = this.windows.get(client);
    if (!window) {
      window = { failed: 0, pending: 0 };
      this.windows.set(client, window);
    }
    if (window.failed + window.pending >= this.maxFailures) return undefined;
    window.pending++;
    const held = window;
    return (failed) => {
      held.pending--;
      if (failed) held.failed++;
    };
  }

  /** Seconds until `client` may try again (for Retry-After). */
  retryAfterSeconds(client: string): number {
    return Math.max(1, Math.ceil(this.windows.getRemainingTTL(client) / 1000));
  }
}
