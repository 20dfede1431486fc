import type { ReflectorEvent } from '../kube/Reflector.js';

/** Compares resourceVersions as numbers (etcd revisions, as every apiserver issues them); undefined when either is not. */
export function compareVersions(a: string, b: string): number | undefined {
  if (!/^\d{1,30}$/.test(a) || !/^\d{1,30}$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The last `capacity` events of a kind, so a subscriber that reconnects with
 * the last resourceVersion it saw gets what it missed. `floor` is the version
 * from which the log is complete: the first LIST's, then the newest event it
 * has had to drop.
 */
export class EventLog {
  private readonly ring: (ReflectorEvent | undefined)[];
  private start = 0;
  private length = 0;
  private floor: string | undefined;

  constructor(readonly capacity = 10_000) {
    this.ring = new Array(capacity);
  }

  /** Marks the log complete from `resourceVersion` on (after the cache's first LIST). */
  completeFrom(resourceVersion: string | undefined): void {
    if (this.floor === undefined && resourceVersion !== undefined) this.floor = resourceVersion;
  }

  append(event: ReflectorEvent): void {
    if (this.length === this.capacity) {
      this.floor = (this.ring[this.start] as ReflectorEvent).resourceVersion;
      this.start = (this.start + 1) % this.capacity;
      this.length--;
    }
    this.ring[(this.start + this.length) % this.capacity] = event;
    this.length++;
  }

  /** Events after `resourceVersion`, oldest first; undefined when the log no longer reaches back that far. */
  since(resourceVersion: string): ReflectorEvent[] | undefined {
    if (this.floor === undefined) return undefined;
    const c = compareVersions(resourceVersion, this.floor);
    if (c === undefined || c < 0) return undefined;
    const out: ReflectorEvent[] = [];
    for (let i = this.length - 1; i >= 0; i--) {
      const e = this.ring[(this.start + i) % this.capacity] as ReflectorEvent;
      const d = compareVersions(e.resourceVersion, resourceVersion);
      if (d === undefined || d <= 0) break;
      out.push(e);
    }
    return out.reverse();
  }

  get size(): number {
    return this.length;
  }
}
