import type { KubeObject } from '../kube/kinds.js';
import type { ReflectorEvent } from '../kube/Reflector.js';
import type { EventHistory } from '../kube/ResourceCache.js';
import { compareVersions, parseSince } from '../kube/StreamPosition.js';

export interface EventLogLimits {
  /** Events kept per kind. */
  maxEvents: number;
  /** Estimated bytes kept per kind (see `estimateBytes`); the oldest events go first. */
  maxBytes: number;
}

/**
 * 10,000 events, and 32 MiB per kind: four cached kinds hold at most 128 MiB of
 * history, well inside the Deployment's 768 MiB heap, while a kind of small
 * objects (a few KB each) still keeps all 10,000 events.
 */
export const defaultEventLogLimits: EventLogLimits = { maxEvents: 10_000, maxBytes: 32 * 1024 * 1024 };

/**
 * The size of an object as JSON, estimated without serializing it: string
 * lengths (one byte a character, as V8 stores ASCII) plus a few bytes for
 * each key, number and punctuation. Objects come from JSON.parse, so no cycles.
 */
export function estimateBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (value === null || typeof value !== 'object') return 8;
  let n = 2;
  if (Array.isArray(value)) {
    for (const v of value) n += estimateBytes(v) + 1;
    return n;
  }
  for (const key in value) n += key.length + 4 + estimateBytes((value as Record<string, unknown>)[key]);
  return n;
}

interface Entry {
  event: ReflectorEvent;
  bytes: number;
}

/**
 * The recent events of a kind, so a subscriber that reconnects with the last
 * cursor it was given gets exactly what it missed. Bounded by events and by
 * estimated bytes, so large objects written often cannot hold memory for
 * nobody: an old version or a deleted object is kept only while it is inside
 * the window. `floor` is the stream version from which the log is complete:
 * the first LIST's, then the position of the newest event it has had to drop;
 * a `since` it no longer reaches answers undefined (the subscriber gets RESYNC).
 */
export class EventLog implements EventHistory {
  readonly limits: EventLogLimits;
  private readonly ring: (Entry | undefined)[];
  private start = 0;
  private length = 0;
  private totalBytes = 0;
  private floor: string | undefined;

  constructor(limits: Partial<EventLogLimits> = {}) {
    this.limits = { ...defaultEventLogLimits, ...limits };
    this.ring = new Array(this.limits.maxEvents);
  }

  /** Marks the log complete from `resourceVersion` on (after the cache's first LIST). */
  completeFrom(resourceVersion: string | undefined): void {
    if (this.floor === undefined && resourceVersion !== undefined) this.floor = resourceVersion;
  }

  append(event: ReflectorEvent): void {
    const bytes = estimateBytes(event.object as KubeObject);
    // An event larger than the whole budget cannot be replayed: the log restarts after it.
    if (bytes > this.limits.maxBytes) {
      while (this.length > 0) this.dropOldest();
      this.floor = event.position.version;
      return;
    }
    while (this.length === this.limits.maxEvents || (this.length > 0 && this.totalBytes + bytes > this.limits.maxBytes)) {
      this.dropOldest();
    }
    this.ring[(this.start + this.length) % this.limits.maxEvents] = { event, bytes };
    this.length++;
    this.totalBytes += bytes;
  }

  private dropOldest(): void {
    const entry = this.ring[this.start] as Entry;
    this.ring[this.start] = undefined; // the event (and its object) is garbage from here
    this.floor = entry.event.position.version;
    this.totalBytes -= entry.bytes;
    this.start = (this.start + 1) % this.limits.maxEvents;
    this.length--;
  }

  /**
   * The events after `since`, oldest first; undefined when the log no longer
   * reaches back that far, or cannot tell. `since` is a cursor (exactly the
   * events after its position), or a bare resourceVersion (older clients): the
   * events after it, and when it falls inside a relist's differences, all of
   * them again, since it may be the version of an event that came before some
   * of the relist's deletions.
   */
  since(since: string): ReflectorEvent[] | undefined {
    const at = parseSince(since);
    if (this.floor === undefined || at === undefined) return undefined;
    const out: ReflectorEvent[] = [];
    if (at.kind === 'relist') {
      // Only this replica knows its relists; a cursor from another one's (or one the log dropped) is RESYNC.
      for (let i = this.length - 1; i >= 0; i--) {
        const e = this.entry(i);
        const relist = e.position.relist;
        if (relist?.id === at.id && relist.index === at.index) return out.reverse();
        out.push(e);
      }
      return undefined;
    }
    const c = compareVersions(at.version, this.floor);
    if (c === undefined || c < 0) return undefined;
    let i = this.length - 1;
    for (; i >= 0; i--) {
      const e = this.entry(i);
      if ((compareVersions(e.position.version, at.version) ?? 0) <= 0) break;
      out.push(e);
    }
    if (at.kind === 'resourceVersion') {
      // A relist's last deletion carries no relist id, and may share the version with the relist's others.
      let k = i;
      while (k >= 0 && this.entry(k).position.relist === undefined && this.entry(k).position.version === at.version) k--;
      const straddled = k >= 0 ? this.entry(k).position.relist : undefined;
      if (straddled) {
        // Back to the relist's first difference, which must still be held.
        for (; i >= 0; i--) {
          const e = this.entry(i);
          out.push(e);
          if (e.position.relist?.id === straddled.id && e.position.relist.index === 0) return out.reverse();
        }
        return undefined;
      }
    }
    return out.reverse();
  }

  private entry(i: number): ReflectorEvent {
    return (this.ring[(this.start + i) % this.limits.maxEvents] as Entry).event;
  }

  /** Events held. */
  get size(): number {
    return this.length;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.totalBytes;
  }
}
