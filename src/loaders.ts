import DataLoader from 'dataloader';
import type { AccessReviewBudget } from './auth/AccessReviewBudget.js';
import type { Authorizer } from './auth/Authorizer.js';
import type { Caller } from './auth/Caller.js';
import { forbidden } from './auth/guards.js';
import { isObjectName, requireNamespaceName, requireObjectName } from './auth/names.js';
import { KubeApiError } from './kube/KubeApiError.js';
import type { KubeClient, KubeList } from './kube/KubeClient.js';
import { compareObjects, type KindName, type KubeObject, kinds, resourcePath } from './kube/kinds.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import { indexes } from './resources/indexes.js';

/**
 * `cached`: cached kinds are read from the shared watch cache; others are
 * batched to one LIST per (kind, namespace) per request. `naive`: no cache and
 * no batching, every read goes to Kubernetes (for benchmarks only).
 */
export type ReadMode = 'cached' | 'naive';

export interface ObjectLoadersOptions {
  cache: ResourceCache;
  /** The caller's client: reads that are not served from the cache go to Kubernetes as the caller. */
  kube: KubeClient;
  caller: Caller;
  authorizer: Authorizer;
  /** The operation's budget of access reviews. */
  accessReviews: AccessReviewBudget;
  mode?: ReadMode;
}

/**
 * Every read a resolver makes, per request. What it returns is already
 * filtered to what the caller may read, so no field can leak another
 * namespace's objects, whichever edge it follows. Every namespace and name
 * is checked here (DNS-1123) before it reaches a review or a Kubernetes path.
 */
export class ObjectLoaders {
  private readonly cache: ResourceCache;
  private readonly kube: KubeClient;
  private readonly caller: Caller;
  private readonly authorizer: Authorizer;
  private readonly accessReviews: AccessReviewBudget;
  private readonly mode: ReadMode;
  private readonly lists = new Map<KindName, DataLoader<string, readonly KubeObject[]>>();

  constructor(options: ObjectLoadersOptions) {
    this.cache = options.cache;
    this.kube = options.kube;
    this.caller = options.caller;
    this.authorizer = options.authorizer;
    this.accessReviews = options.accessReviews;
    this.mode = options.mode ?? 'cached';
  }

  private cached(kind: KindName, namespace?: string): boolean {
    return this.mode === 'cached' && this.cache.has(kind) && this.cache.kind(kind).covers(namespace);
  }

  /** Keeps the objects in namespaces where the caller may `list` the kind: `objects` itself when that is all of them. */
  private async readable(kind: KindName, objects: readonly KubeObject[]): Promise<readonly KubeObject[]> {
    if (objects.length === 0) return objects;
    const namespaces = new Set<string>();
    for (const o of objects) namespaces.add(o.metadata.namespace ?? '');
    const allowed = await this.authorizer.allowedNamespaces(this.caller, 'list', kinds[kind], namespaces, this.accessReviews);
    if (allowed.size === namespaces.size) return objects;
    return objects.filter((o) => allowed.has(o.metadata.namespace ?? ''));
  }

  async get(kind: KindName, namespace: string, name: string): Promise<KubeObject | null> {
    requireNamespaceName(namespace);
    requireObjectName(name);
    if (this.cached(kind, namespace)) {
      if (!(await this.authorizer.allowed(this.caller, 'get', kinds[kind], namespace, this.accessReviews))) return null;
      return this.cache.kind(kind).get(namespace, name) ?? null;
    }
    if (this.mode === 'naive') {
      return this.kube.request<KubeObject>('GET', resourcePath(kinds[kind], namespace, name)).catch((err: unknown) => {
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) return null;
        throw err;
      });
    }
    return (await this.list(kind, namespace)).find((o) => o.metadata.name === name) ?? null;
  }

  /**
   * The object a caller named by its arguments: both names are checked first,
   * then FORBIDDEN unless they may `get` the kind there; null when none exists.
   */
  async getNamed(kind: KindName, namespace: string, name: string): Promise<KubeObject | null> {
    requireNamespaceName(namespace);
    requireObjectName(name);
    if (!(await this.authorizer.allowed(this.caller, 'get', kinds[kind], namespace, this.accessReviews))) {
      throw forbidden('get', kinds[kind], namespace);
    }
    return this.get(kind, namespace, name);
  }

  /** The objects of these names in a namespace that exist and the caller may read, in the order given, without repeats. */
  async getMany(kind: KindName, namespace: string, names: Iterable<string>): Promise<KubeObject[]> {
    // Names read from objects, not from the caller: one no object can have is simply not found.
    const unique = [...new Set(names)].filter(isObjectName);
    const found = await Promise.all(unique.map((n) => this.get(kind, namespace, n)));
    return found.filter((o) => o !== null);
  }

  /**
   * Every object of a kind in a namespace (all namespaces when undefined) that the caller may list, sorted by
   * namespace, then name (`compareObjects`). The array may be the cache's own: never modify it.
   */
  async list(kind: KindName, namespace?: string): Promise<readonly KubeObject[]> {
    if (namespace !== undefined) requireNamespaceName(namespace);
    if (this.cached(kind, namespace)) {
      const objects = this.cache.kind(kind).list(namespace);
      if (namespace === undefined) return this.readable(kind, objects);
      // One namespace: one question, not a walk over its objects to find their namespaces.
      const may = await this.authorizer.allowed(this.caller, 'list', kinds[kind], namespace, this.accessReviews);
      return may ? objects : [];
    }
    if (this.mode === 'naive') return this.fetchList(kind, namespace);
    let loader = this.lists.get(kind);
    if (!loader) {
      // Keys of one tick become one LIST each per distinct namespace; repeats are served from memory.
      loader = new DataLoader((keys: readonly string[]) => Promise.all(keys.map((ns) => this.fetchList(kind, ns || undefined))));
      this.lists.set(kind, loader);
    }
    return loader.load(namespace ?? '');
  }

  /** Objects of `kind` found under `key` (`namespace/name`) in one of its indexes (src/resources/indexes.ts). */
  async byIndex(kind: KindName, index: string, key: string): Promise<readonly KubeObject[]> {
    requireNamespaceName(key.split('/')[0] ?? '');
    if (this.cached(kind, key.split('/')[0])) return this.readable(kind, this.cache.kind(kind).byIndex(index, key));
    const fn = indexes[kind]?.[index];
    if (!fn) throw new Error(`${kind} has no index ${index}`);
    const all = await this.list(kind, key.split('/')[0]);
    return all.filter((o) => fn(o).includes(key));
  }

  /** A LIST as the caller; a namespace they may not list reads as empty. */
  private async fetchList(kind: KindName, namespace?: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    try {
      do {
        const page = await this.kube.request<KubeList>('GET', resourcePath(kinds[kind], namespace), {
          query: { limit: 500, continue: continueToken },
        });
        items.push(...page.items);
        continueToken = page.metadata.continue || undefined;
      } while (continueToken);
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 403 || err.status === 404)) return [];
      throw err;
    }
    // The apiserver's order is its storage keys' (`ns/name`), which differs where one namespace prefixes another.
    return items.sort(compareObjects);
  }
}
