import type { Logger } from 'pino';
import type { KubeClient } from '../kube/KubeClient.js';
import type { KindSpec } from '../kube/kinds.js';
import type { Caller } from './Caller.js';
import { TtlCache } from './TtlCache.js';

export interface AuthorizerOptions {
  /** Makes SubjectAccessReviews with the gateway's own identity. */
  client: KubeClient;
  logger: Logger;
  ttlMs?: number;
  maxEntries?: number;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean };
}

/**
 * Decides whether a caller may read what the shared cache holds, by asking
 * Kubernetes (SubjectAccessReview). Answers are cached for a short time and
 * concurrent identical questions share one review.
 */
export class Authorizer {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly cache: TtlCache<boolean>;

  constructor(options: AuthorizerOptions) {
    this.client = options.client;
    this.logger = options.logger;
    this.cache = new TtlCache(options.ttlMs ?? 10_000, options.maxEntries ?? 50_000);
  }

  /** May the caller `verb` objects of `kind` in `namespace` (all namespaces when undefined)? */
  allowed(caller: Caller, verb: Verb, kind: KindSpec, namespace?: string): Promise<boolean> {
    if (!caller.token) return Promise.resolve(true); // anonymous local mode: the gateway's own rights
    const key = JSON.stringify([caller.username, caller.groups, verb, kind.group, kind.plural, namespace ?? '']);
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
              uid: caller.uid,
              groups: caller.groups,
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
  async allowedNamespaces(caller: Caller, verb: Verb, kind: KindSpec, namespaces: Iterable<string>): Promise<Set<string>> {
    const all = [...new Set(namespaces)];
    if (await this.allowed(caller, verb, kind)) return new Set(all);
    const answers = await Promise.all(all.map(async (ns) => [ns, await this.allowed(caller, verb, kind, ns)] as const));
    return new Set(answers.filter(([, ok]) => ok).map(([ns]) => ns));
  }
}
