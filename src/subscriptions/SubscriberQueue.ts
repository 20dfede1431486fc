import { GraphQLError } from 'graphql';
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

export interface SubscriberQueueOptions {
  /** Past this many pending events, pending events of the same object are coalesced (latest state wins). */
  softLimit?: number;
  /** Past this many pending objects, the subscription ends with SLOW_CONSUMER. */
  hardLimit?: number;
}

/**
 * A bounded buffer between a reflector and one subscriber. The transport pulls
 * from it only as fast as its client reads (graphql-ws awaits each socket write;
 * SSE streams pull), so a stalled client's events wait here. A subscriber that
 * keeps up sees every event in order; one that falls behind sees each object's
 * latest state; one that falls too far behind is ended, so memory stays bounded.
 */
export class SubscriberQueue implements AsyncIterableIterator<StreamEvent> {
  private readonly pending: StreamEvent[] = [];
  private readonly softLimit: number;
  private readonly hardLimit: number;
  private waiting: { resolve: (result: IteratorResult<StreamEvent>) => void; reject: (err: Error) => void } | undefined;
  private failed: Error | undefined;
  private done = false;
  private readonly onClose: () => void;

  constructor(onClose: () => void, options: SubscriberQueueOptions = {}) {
    this.onClose = onClose;
    this.softLimit = options.softLimit ?? 256;
    this.hardLimit = options.hardLimit ?? 4096;
  }

  push(event: StreamEvent): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.pending.length >= this.softLimit) {
      const key = event.object ? objectKey(event.object) : undefined;
      const i = key === undefined ? -1 : this.pending.findIndex((e) => e.object !== null && objectKey(e.object) === key);
      if (i >= 0) {
        const [previous] = this.pending.splice(i, 1) as [StreamEvent];
        // An object the subscriber has not yet seen added stays ADDED. The newer state goes
        // where it belongs, at the end: cursors reach the subscriber in order, so one it
        // resumes from never skips an event it did not get.
        const type = previous.type === 'ADDED' && event.type === 'MODIFIED' ? 'ADDED' : event.type;
        this.pending.push({ ...event, type });
        return;
      }
      if (this.pending.length >= this.hardLimit) {
        this.fail(
          new GraphQLError('Subscriber too slow: events were arriving faster than it read them. Resubscribe with `since`.', {
            extensions: { code: 'SLOW_CONSUMER' },
          }),
        );
        return;
      }
    }
    this.pending.push(event);
  }

  /**
   * Queues what a subscriber must see before live events (a replay, or the
   * state after RESYNC) past the limits: it is bounded by the cache itself.
   */
  preload(event: StreamEvent): void {
    if (!this.done) this.pending.push(event);
  }

  /** Ends the stream with an error, after dropping what is pending. */
  fail(err: Error): void {
    if (this.done) return;
    this.pending.length = 0;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(err);
    } else {
      this.failed = err;
    }
    this.close();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.onClose();
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    const event = this.pending.shift();
    if (event) return { value: event, done: false };
    if (this.failed) {
      const err = this.failed;
      this.failed = undefined;
      throw err;
    }
    if (this.done) return { value: undefined, done: true };
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    this.pending.length = 0;
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
