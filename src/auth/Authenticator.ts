import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.js';
import { type AuthFailureLimit, AuthFailureLimiter } from './AuthFailureLimiter.js';
import type { Caller } from './Caller.js';
import { jwtExpiry } from './sessions.js';
import { TtlCache } from './TtlCache.js';

export interface AuthenticatorOptions {
  /** Makes TokenReviews with the gateway's own identity. */
  client: KubeClient;
  logger: Logger;
  cache?: Partial<TokenCacheLimits>;
  failures?: Partial<AuthFailureLimit>;
}

export interface TokenCacheLimits {
  /** How long an answer (either way) is reused. */
  ttlMs: number;
  maxEntries: number;
  /** Bound on the answers' sizes together (a token is up to 8 KiB and is kept to act as the caller). */
  maxBytes: number;
}

export const defaultTokenCacheLimits: TokenCacheLimits = { ttlMs: 30_000, maxEntries: 10_000, maxBytes: 32 * 2 ** 20 };

interface TokenReview {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
}

/** A cached answer: lru-cache holds no null, so a rejected token is `{ caller: null }`. */
interface Answer {
  caller: Caller | null;
}

/** A client address at its limit of failed tokens: no TokenReview was made. */
export class TooManyFailedTokens extends Error {
  override readonly name = 'TooManyFailedTokens';
  constructor(readonly retryAfterSeconds: number) {
    super('too many failed tokens from this client');
  }
}

/**
 * Verifies bearer tokens with Kubernetes TokenReview; answers are cached
 * briefly, keyed by the token's hash. TokenReviews of unknown tokens are
 * rationed per client address by how many failed (AuthFailureLimiter).
 */
export class Authenticator {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly cache: TtlCache<Answer>;
  private readonly failures: AuthFailureLimiter;
  private readonly ttlMs: number;
  /** Fresh reviews in flight, so the sessions of one token share one. */
  private readonly fresh = new Map<string, Promise<Caller | null>>();

  constructor(options: AuthenticatorOptions) {
    this.client = options.client;
    this.logger = options.logger;
    const limits = { ...defaultTokenCacheLimits, ...options.cache };
    this.ttlMs = limits.ttlMs;
    this.cache = new TtlCache<Answer>({
      ttlMs: limits.ttlMs,
      maxEntries: limits.maxEntries,
      maxBytes: limits.maxBytes,
      sizeOf: (answer, key) => key.length * 2 + 64 + (answer.caller ? JSON.stringify(answer.caller).length * 2 : 0),
    });
    this.failures = new AuthFailureLimiter(options.failures);
  }

  /**
   * The caller a token belongs to, or null when Kubernetes does not accept it.
   * `client` (an address) is charged when an unknown token fails; past its limit
   * this throws TooManyFailedTokens instead of asking Kubernetes.
   */
  async authenticate(token: string, client: string): Promise<Caller | null> {
    const key = tokenKey(token);
    const load = async () => ({ caller: await this.tokenReview(token) });
    if (this.cache.has(key)) return (await this.cache.get(key, load)).caller;
    const finish = this.failures.begin(client);
    if (!finish) throw new TooManyFailedTokens(this.failures.retryAfterSeconds(client));
    try {
      const answer = await this.cache.get(key, load);
      finish(answer.caller === null);
      // An acceptance is kept no longer than the JWT's exp: set again once answered, as a shorter life on the
      // pending load could purge it mid-flight.
      const ttl = answer.caller ? this.ttlFor(token) : undefined;
      if (ttl !== undefined) this.cache.set(key, answer, ttl);
      return answer.caller;
    } catch (err) {
      finish(false); // the apiserver failed, not the token
      throw err;
    }
  }

  /**
   * A TokenReview now, whatever the cache holds (sessions re-review with it);
   * the answer replaces the cached one.
   */
  review(token: string): Promise<Caller | null> {
    const key = tokenKey(token);
    let pending = this.fresh.get(key);
    if (!pending) {
      pending = this.tokenReview(token)
        .then((caller) => {
          this.cache.set(key, { caller }, caller ? this.ttlFor(token) : undefined);
          return caller;
        })
        .finally(() => this.fresh.delete(key));
      this.fresh.set(key, pending);
    }
    return pending;
  }

  /** A JWT is not taken as valid past its `exp` from the cache (read unverified: it can only shorten the time). */
  private ttlFor(token: string): number | undefined {
    const expiry = jwtExpiry(token);
    return expiry === undefined || expiry - Date.now() >= this.ttlMs ? undefined : Math.max(1, expiry - Date.now());
  }

  private async tokenReview(token: string): Promise<Caller | null> {
    const review = await this.client.request<TokenReview>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      this.logger.debug({ error: review.status?.error }, 'token rejected');
      return null;
    }
    return {
      username: user.username,
      ...(user.uid ? { uid: user.uid } : {}),
      groups: user.groups ?? [],
      ...(user.extra && Object.keys(user.extra).length ? { extra: user.extra } : {}),
      token,
    };
  }
}

const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64url');

/** The token in `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S{1,8192})\s*$/i.exec(header ?? '');
  return match?.[1];
}
