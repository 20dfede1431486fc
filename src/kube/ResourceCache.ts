import type { Logger } from 'pino';
import type { KubeClient } from './KubeClient.js';
import { type KindName, kinds } from './kinds.js';
import { Reflector, type ReflectorOptions } from './Reflector.js';

export interface ResourceCacheOptions {
  client: KubeClient;
  logger: Logger;
  kinds: readonly KindName[];
  reflector?: Partial<Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'stallGraceMs' | 'backoff'>>;
}

/** The shared, watch-backed copy of the cached kinds: one reflector per kind, for every request and subscriber. */
export class ResourceCache {
  private readonly reflectors = new Map<KindName, Reflector>();

  constructor(options: ResourceCacheOptions) {
    for (const name of options.kinds) {
      this.reflectors.set(
        name,
        new Reflector({ client: options.client, kind: kinds[name], logger: options.logger, ...options.reflector }),
      );
    }
  }

  start(): void {
    for (const r of this.reflectors.values()) r.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.stop()));
  }

  /** True once every cached kind has completed its first LIST. */
  get ready(): boolean {
    return [...this.reflectors.values()].every((r) => r.hasSynced);
  }

  async synced(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.synced));
  }

  reflector(name: KindName): Reflector {
    const r = this.reflectors.get(name);
    if (!r) throw new Error(`${name} is not cached`);
    return r;
  }
}
