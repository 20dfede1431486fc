import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.js';
import type { KindSpec } from '../kube/kinds.js';
import type { AccessReviewBudget } from './AccessReviewBudget.js';
import { type Caller, identityKey } from './Caller.js';
import { requireNamespaceName } from './names.js';
import { TtlCache } from './TtlCache.js';

export interface AuthorizerOptions {
  /** Makes SubjectAccessReviews with the gateway's own identity. */
  client: KubeClient;
  logger: Logger;
  cache?: Partial<ReviewCacheLimits>;
}

export interface ReviewCacheLimits {
  /** How long an answer is reused. */
  ttlMs: number;
  maxEntries: number;
  /** Bound on keys (the whole identity, so large `extra`s count) and answers together. */
  maxBytes: number;
}

export const defaultReviewCacheLimits: ReviewCacheLimits = { ttlMs: 10_000, maxEntries: 50_000, maxBytes: 32 * 2 ** 20 };

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean };
}

/**
 * Decides whether a caller may read what the shared cache holds, by asking
 * Kubernetes (SubjectAccessReview) with the caller's whole identity. Answers
 * are cached for a short time, keyed by that identity, and concurrent
 * identical questions share one review.
 */
export class Authorizer {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly cache: TtlCache<boolean>;

  constructor(options: AuthorizerOptions) {
    this.client = options.client;
    this.logger = options.logger;
    const limits = { ...defaultReviewCacheLimits, ...options.cache };
    this.cache = new TtlCache<boolean>({
      ttlMs: limits.ttlMs,
      maxEntries: limits.maxEntries,
      maxBytes: limits.maxBytes,
      // UTF-16 key plus the entry's bookkeeping.
      sizeOf: (_allowed, key) => key.length * 2 + 64,
    });
  }

  /**
   * May the caller `verb` objects of `kind` in `namespace` (all namespaces when
   * undefined)? An invalid namespace is BAD_USER_INPUT, before any review; a
   * review not already answered is charged to `budget`, the operation's
   * (a subscription's periodic re-check has none).
   */
  async allowed(caller: Caller, verb: Verb, kind: KindSpec, namespace?: string, budget?: AccessReviewBudget): Promise<boolean> {
    if (namespace !== undefined) requireNamespaceName(namespace);
    if (!caller.token) return true; // anonymous local mode: the gateway's own rights
    const key = JSON.stringify([identityKey(caller), verb, kind.group, kind.plural, namespace ?? '']);
    if (budget && !this.cache.has(key)) budget.charge(key);
    return this.cache.get(key, async () => {
      const review = await this.client.request<SubjectAccessReview>(
        'POST',
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: caller.username,
              ...(caller.uid ? { uid: caller.uid } : {}),
              groups: caller.groups,
              ...(caller.extra ? { extra: caller.extra } : {}),
              resourceAttributes: { verb, group: kind.group, resource: kind.plural, ...(namespace ? { namespace } : {}) },
            },
          },
        },
      );
      const allowed = review.status?.allowed === true;
      this.logger.debug({ user: caller.username, verb, resource: kind.plural, namespace, allowed }, 'access review');
      return allowed;
    });
  }

  /**
   * Of the namespaces given, those whose `kind` the caller may `verb`: all of
   * them when the caller may act cluster-wide, else one review per namespace.
   */
  async allowedNamespaces(
    caller: Caller,
    verb: Verb,
    kind: KindSpec,
    namespaces: Iterable<string>,
    budget?: AccessReviewBudget,
  ): Promise<Set<string>> {
    const all = [...new Set(namespaces)];
    if (await this.allowed(caller, verb, kind, undefined, budget)) return new Set(all);
    // The per-namespace questions are not charged: they are bounded by the namespaces the cache holds, not by the
    // caller's input, and cached per identity, so a cluster of many teams does not refuse a plain list.
    const answers = await Promise.all(all.map(async (ns) => [ns, await this.allowed(caller, verb, kind, ns)] as const));
    return new Set(answers.filter(([, ok]) => ok).map(([ns]) => ns));
  }
}
