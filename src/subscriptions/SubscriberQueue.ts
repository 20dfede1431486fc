import { type KubeObject, objectKey } from '../kube/kinds.js';
import type { ChangeType } from '../kube/Reflector.js';

/** What a subscriber receives: a change, or RESYNC (no object) before the current state. */
export interface StreamEvent {
  type: ChangeType | 'RESYNC';
  object: KubeObject | null;
  resourceVersion: string;
  /** Where to resume from; null inside a RESYNC snapshot (resume from the cursor before it). */
  cursor: string | null;
}

/**
 * One event as one group renders it: the event, and the payload's JSON once
 * it has been executed (`{"data":…}`). A live event's delivery is made once
 * per group and shared by every member's queue; only its bytes are framed per
 * member.
 */
export interface Delivery {
  readonly event: StreamEvent;
  /** undefined while the group's execution is still running. */
  json: string | undefined;
  /** `json` as UTF-8, made once for every member that is sent it. */
  bytes?: Buffer;
}

export interface SubscriberQueueOptions {
  /** Past this many pending events, pending events of the same object are coalesced (latest state wins). */
  softLimit?: number;
  /** Past this many pending objects, the subscription ends with SLOW_CONSUMER. */
  hardLimit?: number;
}

/**
 * A bounded buffer between a group's rendered events and one subscriber's
 * transport, which takes from it only as fast as its client reads (a socket
 * that needs draining is not written to). A subscriber that keeps up sees
 * every event in order; one that falls behind sees each object's latest
 * state; one that falls too far behind gets `overflow` from `push`, and is
 * ended by its owner, so memory stays bounded.
 */
export class SubscriberQueue {
  private pending: Delivery[] = [];
  private head = 0;
  private readonly softLimit: number;
  private readonly hardLimit: number;

  /**
   * `retype` renders an event again with another type: a coalesced `MODIFIED`
   * of an object the subscriber has not yet seen stays `ADDED`.
   */
  constructor(
    options: SubscriberQueueOptions,
    private readonly retype: (event: StreamEvent) => Delivery,
  ) {
    this.softLimit = options.softLimit ?? 256;
    this.hardLimit = options.hardLimit ?? 4096;
  }

  /** Queues a live delivery; `overflow` when the subscriber is past the hard limit (nothing was queued). */
  push(delivery: Delivery): 'queued' | 'overflow' {
    const length = this.length;
    if (length >= this.softLimit) {
      const object = delivery.event.object;
      const key = object ? objectKey(object) : undefined;
      if (key !== undefined) {
        for (let i = this.head; i < this.pending.length; i++) {
          const previous = this.pending[i] as Delivery;
          if (previous.event.object === null || objectKey(previous.event.object) !== key) continue;
          this.pending.splice(i, 1);
          // An object the subscriber has not yet seen added stays ADDED. The newer state goes
          // where it belongs, at the end: cursors reach the subscriber in order, so one it
          // resumes from never skips an event it did not get.
          const stillAdded = previous.event.type === 'ADDED' && delivery.event.type === 'MODIFIED';
          this.pending.push(stillAdded ? this.retype({ ...delivery.event, type: 'ADDED' }) : delivery);
          return 'queued';
        }
      }
      if (length >= this.hardLimit) return 'overflow';
    }
    this.pending.push(delivery);
    return 'queued';
  }

  /**
   * Queues what a subscriber must see before live events (a replay, or the
   * state after RESYNC) past the limits: it is bounded by the cache itself.
   */
  preload(delivery: Delivery): void {
    this.pending.push(delivery);
  }

  /** Whether the next delivery has its bytes. */
  get ready(): boolean {
    return this.head < this.pending.length && (this.pending[this.head] as Delivery).json !== undefined;
  }

  /** Removes and answers the next delivery, if its bytes are ready. */
  take(): Delivery | undefined {
    if (!this.ready) return undefined;
    const d = this.pending[this.head++] as Delivery;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  get length(): number {
    return this.pending.length - this.head;
  }

  clear(): void {
    this.pending = [];
    this.head = 0;
  }
}
