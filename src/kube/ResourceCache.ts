import type { Logger } from 'pino';
import type { KubeClient } from './KubeClient.js';
import { compareObjects, type KindName, type KubeObject, kinds } from './kinds.js';
import { type IndexFn, Reflector, type ReflectorEvent, type ReflectorOptions } from './Reflector.js';
import { compareVersions } from './StreamPosition.js';

/** Per kind, its secondary indexes: index name → the keys an object is found under. */
export type KindIndexes = Partial<Record<KindName, Record<string, IndexFn>>>;

export interface ResourceCacheOptions {
  client: KubeClient;
  logger: Logger;
  kinds: readonly KindName[];
  /** Cache only these namespaces (one watch per kind and namespace); all namespaces when empty. */
  namespaces?: readonly string[];
  reflector?: Partial<Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'stallGraceMs' | 'backoff'>>;
  /** Secondary indexes per kind, defined above this layer (src/resources/indexes.ts); none when absent. */
  indexes?: KindIndexes;
  /**
   * Each kind's recent events, for subscribers that resume (`since`); made
   * above this layer (src/subscriptions/EventLog.ts). Without it nothing is
   * kept and every resume gets RESYNC.
   */
  eventHistory?: (kind: KindName) => EventHistory;
}

/** What a kind's event history offers the cache and its subscribers. */
export interface EventHistory {
  append(event: ReflectorEvent): void;
  /** Marks the history complete from `resourceVersion` on (after the first LIST). */
  completeFrom(resourceVersion: string | undefined): void;
  /** Events after `since` (a cursor or a resourceVersion), oldest first; undefined when the history cannot tell. */
  since(since: string): ReflectorEvent[] | undefined;
  /** Events held. */
  readonly size: number;
  /** Estimated bytes held. */
  readonly bytes: number;
}

/** Keeps nothing: every `since` is answered with RESYNC. */
const noHistory: EventHistory = { append() {}, completeFrom() {}, since: () => undefined, size: 0, bytes: 0 };

/** One kind's cached objects, over one reflector per cached namespace. */
export class KindCache {
  /** Recent events, for subscribers that resume with `since`. */
  constructor(
    private readonly reflectors: readonly Reflector[],
    readonly log: EventHistory = noHistory,
  ) {
    for (const r of reflectors) r.subscribe((event) => this.log.append(event));
    void Promise.all(reflectors.map((r) => r.synced)).then(() => this.log.completeFrom(this.resourceVersion));
  }

  /** The newest resourceVersion the cache has seen for this kind. */
  get resourceVersion(): string | undefined {
    let newest: string | undefined;
    for (const r of this.reflectors) {
      const v = r.lastResourceVersion;
      if (v !== undefined && (newest === undefined || (compareVersions(v, newest) ?? 0) > 0)) newest = v;
    }
    return newest;
  }

  get(namespace: string, name: string): KubeObject | undefined {
    for (const r of this.reflectors) {
      if (r.namespace === undefined || r.namespace === namespace) {
        const obj = r.get(namespace, name);
        if (obj) return obj;
      }
    }
    return undefined;
  }

  /**
   * The objects of one namespace (all when undefined), sorted by namespace, then name (`compareObjects`). The array
   * is shared until the next change: never modify it.
   */
  list(namespace?: string): readonly KubeObject[] {
    if (namespace !== undefined) {
      const r = this.reflectors.find((r) => r.namespace === undefined || r.namespace === namespace);
      return r ? r.list(namespace) : [];
    }
    if (this.reflectors.length === 1) return (this.reflectors[0] as Reflector).list();
    // One reflector per namespace (`--namespaces`): each holds a different namespace.
    return this.reflectors.flatMap((r) => r.list()).sort(compareObjects);
  }

  byIndex(name: string, key: string): KubeObject[] {
    return this.reflectors.flatMap((r) => r.byIndex(name, key));
  }

  /** Whether `namespace` is cached (false only when the cache is limited to other namespaces). */
  covers(namespace: string | undefined): boolean {
    return this.reflectors.some((r) => r.namespace === undefined || r.namespace === namespace);
  }

  /** Every event of the kind, in stream order, until the returned function is called. */
  subscribe(listener: (event: ReflectorEvent) => void): () => void {
    const offs = this.reflectors.map((r) => r.subscribe(listener));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const off of offs) off();
    };
  }

  /** Counts one live subscription (however the events reach it) until the returned function is called. */
  countSubscriber(): () => void {
    this.subscribers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscribers--;
    };
  }

  private subscribers = 0;

  /** Subscribers answered with RESYNC (their `since` could not be replayed), since start. */
  resyncs = 0;

  /** Live subscriptions to this kind (the event log's own listener aside). */
  get listenerCount(): number {
    return this.subscribers;
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
            indexes: options.indexes?.[name],
            ...options.reflector,
          }),
      );
      this.reflectors.push(...rs);
      this.byKind.set(name, new KindCache(rs, options.eventHistory?.(name)));
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

  /** Per reflector: its kind, namespace and counters, for /metrics. */
  get stats() {
    return this.reflectors.map((r) => ({
      kind: r.kind.kind,
      namespace: r.namespace ?? '',
      objects: r.size,
      synced: r.hasSynced,
      restarts: r.restarts,
      expired: r.expired,
      stalls: r.stalls,
      relists: r.relists,
      synthesized: r.synthesized,
    }));
  }

  /** Per cached kind: the events and estimated bytes its history holds, and the RESYNCs sent, for /metrics. */
  get histories(): { kind: KindName; events: number; bytes: number; resyncs: number }[] {
    return [...this.byKind].map(([kind, c]) => ({ kind, events: c.log.size, bytes: c.log.bytes, resyncs: c.resyncs }));
  }

  /** Live subscriptions per cached kind. */
  get subscribers(): { kind: KindName; count: number }[] {
    return [...this.byKind].map(([kind, c]) => ({ kind, count: c.listenerCount }));
  }

  /** The cache of a kind; throws when the kind is not cached (use `has` or the loaders). */
  kind(name: KindName): KindCache {
    const c = this.byKind.get(name);
    if (!c) throw new Error(`${name} is not cached`);
    return c;
  }
}
