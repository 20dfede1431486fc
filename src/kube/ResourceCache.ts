import type { Logger } from 'pino';
import { indexes } from './indexes.js';
import type { KubeClient } from './KubeClient.js';
import { type KindName, type KubeObject, kinds } from './kinds.js';
import { Reflector, type ReflectorEvent, type ReflectorOptions } from './Reflector.js';

export interface ResourceCacheOptions {
  client: KubeClient;
  logger: Logger;
  kinds: readonly KindName[];
  /** Cache only these namespaces (one watch per kind and namespace); all namespaces when empty. */
  namespaces?: readonly string[];
  reflector?: Partial<Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'stallGraceMs' | 'backoff'>>;
}

/** One kind's cached objects, over one reflector per cached namespace. */
export class KindCache {
  constructor(private readonly reflectors: readonly Reflector[]) {}

  get(namespace: string, name: string): KubeObject | undefined {
    for (const r of this.reflectors) {
      if (r.namespace === undefined || r.namespace === namespace) {
        const obj = r.get(namespace, name);
        if (obj) return obj;
      }
    }
    return undefined;
  }

  *list(namespace?: string): IterableIterator<KubeObject> {
    for (const r of this.reflectors) {
      for (const obj of r.list()) {
        if (namespace === undefined || obj.metadata.namespace === namespace) yield obj;
      }
    }
  }

  byIndex(name: string, key: string): KubeObject[] {
    return this.reflectors.flatMap((r) => r.byIndex(name, key));
  }

  /** Whether `namespace` is cached (false only when the cache is limited to other namespaces). */
  covers(namespace: string | undefined): boolean {
    return this.reflectors.some((r) => r.namespace === undefined || r.namespace === namespace);
  }

  subscribe(listener: (event: ReflectorEvent) => void): () => void {
    const offs = this.reflectors.map((r) => r.subscribe(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  get listenerCount(): number {
    return Math.max(0, ...this.reflectors.map((r) => r.listenerCount));
  }

  get size(): number {
    return this.reflectors.reduce((n, r) => n + r.size, 0);
  }
}

/** The shared, watch-backed copy of the cached kinds, for every request and subscriber. */
export class ResourceCache {
  private readonly reflectors: Reflector[] = [];
  private readonly byKind = new Map<KindName, KindCache>();

  constructor(options: ResourceCacheOptions) {
    const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
    for (const name of options.kinds) {
      const rs = namespaces.map(
        (namespace) =>
          new Reflector({
            client: options.client,
            kind: kinds[name],
            logger: options.logger,
            namespace,
            indexes: indexes[name],
            ...options.reflector,
          }),
      );
      this.reflectors.push(...rs);
      this.byKind.set(name, new KindCache(rs));
    }
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** True once every cached kind has completed its first LIST. */
  get ready(): boolean {
    return this.reflectors.every((r) => r.hasSynced);
  }

  async synced(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.synced));
  }

  has(name: KindName): boolean {
    return this.byKind.has(name);
  }

  /** The cache of a kind; throws when the kind is not cached (use `has` or the loaders). */
  reflector(name: KindName): KindCache {
    const c = this.byKind.get(name);
    if (!c) throw new Error(`${name} is not cached`);
    return c;
  }
}
