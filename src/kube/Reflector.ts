import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { KubeApiError } from './KubeApiError.js';
import type { KubeClient, KubeList } from './KubeClient.js';
import { compareObjects, type KindSpec, type KubeObject, objectKey, resourcePath, withoutManagedFields } from './kinds.js';
import { compareVersions, cursorOf, newRelistId, type StreamPosition } from './StreamPosition.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorEvent {
  type: ChangeType;
  object: KubeObject;
  /** The object's own metadata.resourceVersion; for a deletion a relist found, the last one the cache knew. */
  resourceVersion: string;
  /** Where the event stands in the stream; positions only grow. */
  position: StreamPosition;
  /** `position`, as the opaque string subscribers resume from. */
  cursor: string;
}

export interface ReflectorOptions {
  client: KubeClient;
  kind: KindSpec;
  logger: Logger;
  /** Only this namespace; all when undefined. */
  namespace?: string;
  /** Secondary indexes: name → the keys an object is found under. */
  indexes?: Record<string, IndexFn>;
  /** Server-side watch timeout is drawn from this range, so replicas do not reconnect in step. */
  watchTimeoutSeconds?: [min: number, max: number];
  /** A watch silent for this long past its server-side timeout is restarted. */
  stallGraceMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
}

/** The index keys of an object, e.g. the `namespace/name` of each resource a binding refers to. */
export type IndexFn = (obj: KubeObject) => string[];

class GoneError extends Error {}

const noObjects: readonly KubeObject[] = Object.freeze([]);

/**
 * Keeps an in-memory copy of one kind: LIST, then WATCH with bookmarks from the
 * last seen resourceVersion. 410 Gone relists and emits the difference as
 * events; other failures retry with exponential backoff and jitter; a watch
 * that goes silent is restarted by a watchdog. client-node's informer is not
 * used because it does not restart itself (DESIGN.md section 4).
 */
export class Reflector {
  readonly kind: KindSpec;
  private readonly client: KubeClient;
  private readonly logger: Logger;
  readonly namespace: string | undefined;
  private readonly options: Required<Omit<ReflectorOptions, 'client' | 'kind' | 'logger' | 'namespace' | 'indexes'>>;
  private readonly indexFns: Record<string, IndexFn>;
  /** index name → key → object keys */
  private readonly indexed = new Map<string, Map<string, Set<string>>>();
  private readonly store = new Map<string, KubeObject>();
  /**
   * Each namespace's objects sorted by name, and all of them by namespace then name: built when first read and
   * dropped by the next write there, so a read of unchanged objects sorts nothing (lists are read far more often
   * than they change).
   */
  private readonly sorted = new Map<string, readonly KubeObject[]>();
  /** Namespaces whose sorted list is kept: at most those holding objects (`list`). */
  get sortedNamespaces(): number {
    return this.sorted.size;
  }
  /** namespace → name → object: the store again, so one namespace's list does not walk the others. */
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  private sortedAll: readonly KubeObject[] | undefined;
  private readonly listeners = new Set<(event: ReflectorEvent) => void>();
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private syncedResolve!: () => void;
  /** Resolves after the first complete LIST. */
  readonly synced: Promise<void>;
  hasSynced = false;
  /** Watch restarts after an error, for metrics and tests. */
  restarts = 0;
  /** Relists after 410 Gone. */
  expired = 0;
  /** LISTs after the first (each after a 410 Gone). */
  relists = 0;
  /** Events a relist made up from the difference between the cache and the LIST. */
  synthesized = 0;
  /** Watches restarted by the watchdog. */
  stalls = 0;

  constructor(options: ReflectorOptions) {
    this.client = options.client;
    this.kind = options.kind;
    this.namespace = options.namespace;
    this.indexFns = options.indexes ?? {};
    for (const name of Object.keys(this.indexFns)) this.indexed.set(name, new Map());
    this.logger = options.logger.child({ kind: options.kind.kind, namespace: options.namespace });
    this.options = {
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? [300, 600],
      stallGraceMs: options.stallGraceMs ?? 30_000,
      backoff: options.backoff ?? { initialMs: 250, maxMs: 30_000 },
      pageSize: options.pageSize ?? 500,
    };
    this.synced = new Promise((resolve) => {
      this.syncedResolve = resolve;
    });
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.abort?.abort();
    await this.running;
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.store.get(`${namespace}/${name}`);
  }

  /**
   * The objects of one namespace (all when undefined), sorted by namespace, then name (`compareObjects`). The array
   * is shared with every other reader until the next change: never modify it.
   */
  list(namespace?: string): readonly KubeObject[] {
    if (namespace === undefined) {
      this.sortedAll ??= [...this.store.values()].sort(compareObjects);
      return this.sortedAll;
    }
    let objects = this.sorted.get(namespace);
    if (!objects) {
      const held = this.byNamespace.get(namespace);
      // Nothing is kept for a namespace without objects: callers name namespaces, and each name would stay.
      if (!held) return noObjects;
      objects = [...held.values()].sort(compareObjects);
      this.sorted.set(namespace, objects);
    }
    return objects;
  }

  /** Objects found under `key` in index `name`. */
  byIndex(name: string, key: string): KubeObject[] {
    const index = this.indexed.get(name);
    if (!index) throw new Error(`${this.kind.kind} has no index ${name}`);
    const out: KubeObject[] = [];
    for (const k of index.get(key) ?? []) {
      const obj = this.store.get(k);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Every store write goes through here, so the indexes never disagree with the store. */
  private put(key: string, obj: KubeObject | undefined): void {
    const old = this.store.get(key);
    for (const [name, fn] of Object.entries(this.indexFns)) {
      const index = this.indexed.get(name) as Map<string, Set<string>>;
      if (old) {
        for (const k of safeKeys(fn, old)) {
          const set = index.get(k);
          set?.delete(key);
          if (set?.size === 0) index.delete(k);
        }
      }
      if (obj) {
        for (const k of safeKeys(fn, obj)) {
          const set = index.get(k);
          if (set) set.add(key);
          else index.set(k, new Set([key]));
        }
      }
    }
    const namespace = (obj ?? old)?.metadata.namespace ?? '';
    let inNamespace = this.byNamespace.get(namespace);
    if (obj) {
      this.store.set(key, obj);
      if (!inNamespace) {
        inNamespace = new Map();
        this.byNamespace.set(namespace, inNamespace);
      }
      inNamespace.set(obj.metadata.name, obj);
    } else {
      this.store.delete(key);
      inNamespace?.delete(old?.metadata.name ?? '');
      if (inNamespace?.size === 0) this.byNamespace.delete(namespace);
    }
    this.sorted.delete(namespace);
    this.sortedAll = undefined;
  }

  get size(): number {
    return this.store.size;
  }

  get lastResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  /** How many listeners (subscriptions) are attached. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Listens to every change from now on; returns the function that stops listening. */
  subscribe(listener: (event: ReflectorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(type: ChangeType, object: KubeObject, position: StreamPosition): void {
    const event = { type, object, resourceVersion: object.metadata.resourceVersion ?? '', position, cursor: cursorOf(position) };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err }, 'reflector listener failed');
      }
    }
  }

  private async run(): Promise<void> {
    let delay = this.options.backoff.initialMs;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        delay = this.options.backoff.initialMs;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError || (err instanceof KubeApiError && err.status === 410)) {
          this.logger.info('resourceVersion expired (410 Gone); relisting');
          this.expired++;
          this.resourceVersion = undefined;
          continue;
        }
        this.restarts++;
        // Full jitter: a fleet of replicas does not hammer a recovering apiserver in step.
        const wait = Math.round(Math.random() * delay);
        this.logger.warn({ err: errorSummary(err), retryInMs: wait }, 'list/watch failed; retrying');
        await sleep(wait, this.stopping.signal);
        delay = Math.min(delay * 2, this.options.backoff.maxMs);
      }
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    this.abort = new AbortController();
    do {
      const page = await this.client.request<KubeList>('GET', resourcePath(this.kind, this.namespace), {
        query: { limit: this.options.pageSize, continue: continueToken },
        signal: this.abort.signal,
      });
      for (const item of page.items) {
        const obj = withoutManagedFields(item);
        fresh.set(objectKey(obj), obj);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);

    // Emit the difference, so listeners see what changed while nobody watched:
    // changes at each object's own resourceVersion, in order, then deletions at
    // the LIST's (when exactly they happened is no longer known), each with the
    // last state the cache knew. Until the last deletion the view is not
    // complete, so those positions name this relist (see StreamPosition).
    const first = !this.hasSynced;
    if (!first) this.relists++;
    this.resourceVersion = resourceVersion;
    const rv = (o: KubeObject) => o.metadata.resourceVersion ?? '';
    const changed: { type: ChangeType; obj: KubeObject; version: string }[] = [];
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      if (!old) changed.push({ type: 'ADDED', obj, version: rv(obj) });
      else if (rv(old) !== rv(obj)) changed.push({ type: 'MODIFIED', obj, version: rv(obj) });
    }
    changed.sort((a, b) => compareVersions(a.version, b.version) ?? 0);
    const deleted: { type: ChangeType; obj: KubeObject; version: string }[] = [];
    for (const [key, old] of this.store)
      if (!fresh.has(key)) deleted.push({ type: 'DELETED', obj: old, version: resourceVersion ?? '' });
    const differences = [...changed, ...deleted];
    const id = deleted.length > 0 ? newRelistId() : undefined;
    differences.forEach((d, index) => {
      this.put(objectKey(d.obj), d.type === 'DELETED' ? undefined : d.obj);
      const inside = id !== undefined && index < differences.length - 1;
      this.emit(d.type, d.obj, inside ? { version: d.version, relist: { id, index } } : { version: d.version });
    });
    if (!first) {
      this.synthesized += differences.length;
      this.logger.info(
        {
          resourceVersion,
          synthesized: differences.length,
          added: changed.filter((c) => c.type === 'ADDED').length,
          modified: changed.filter((c) => c.type === 'MODIFIED').length,
          deleted: deleted.length,
        },
        'relisted: emitted the differences',
      );
    }
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.syncedResolve();
      this.logger.info({ objects: this.store.size, resourceVersion }, 'cache synced');
    }
  }

  private async watchOnce(): Promise<void> {
    const [min, max] = this.options.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(min + Math.random() * (max - min));
    const abort = new AbortController();
    this.abort = abort;
    // Watchdog: the server closes the watch after timeoutSeconds; silence past that is a stall.
    const stallMs = timeoutSeconds * 1000 + this.options.stallGraceMs;
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        abort.abort(new Error('watch stalled'));
      }, stallMs);
    };
    arm();
    try {
      const events = this.client.watch(
        resourcePath(this.kind, this.namespace),
        { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        abort.signal,
      );
      for await (const event of events) {
        arm();
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number; message?: string };
          if (status.code === 410) throw new GoneError(status.message);
          throw new Error(`watch error: ${status.message ?? JSON.stringify(status)}`);
        }
        const obj = withoutManagedFields(event.object);
        this.resourceVersion = obj.metadata.resourceVersion ?? this.resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        const key = objectKey(obj);
        this.put(key, event.type === 'DELETED' ? undefined : obj);
        this.emit(event.type, obj, { version: obj.metadata.resourceVersion ?? '' });
      }
    } catch (err) {
      if (stalled) {
        this.logger.warn({ stallMs }, 'watch silent past its timeout; restarting');
        this.stalls++;
        return;
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A malformed object (legacy data) must not break the index for everyone else. */
function safeKeys(fn: IndexFn, obj: KubeObject): string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}

function errorSummary(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
