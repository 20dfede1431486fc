import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.js';
import type { Caller } from './Caller.js';
import { TtlCache } from './TtlCache.js';

export interface AuthenticatorOptions {
  /** Makes TokenReviews with the gateway's own identity. */
  client: KubeClient;
  logger: Logger;
  ttlMs?: number;
  maxEntries?: number;
}

interface TokenReview {
  status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[] }; error?: string };
}

/** Verifies bearer tokens with Kubernetes TokenReview; answers are cached briefly, keyed by the token's hash. */
export class Authenticator {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly cache: TtlCache<Caller | null>;

  constructor(options: AuthenticatorOptions) {
    this.client = options.client;
    this.logger = options.logger;
    this.cache = new TtlCache(options.ttlMs ?? 30_000, options.maxEntries ?? 10_000);
  }

  /** The caller a token belongs to, or null when Kubernetes does not accept it. */
  authenticate(token: string): Promise<Caller | null> {
    const key = createHash('sha256').update(token).digest('base64url');
    return this.cache.get(key, async () => {
      const review = await this.client.request<TokenReview>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) {
        this.logger.debug({ error: review.status?.error }, 'token rejected');
        return null;
      }
      return { username: user.username, uid: user.uid, groups: user.groups ?? [], token };
    });
  }
}

/** The token in `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S{1,8192})\s*$/i.exec(header ?? '');
  return match?.[1];
}
