import { GraphQLError } from 'graphql';
import { objectKey } from '../kube/kinds.js';
import type { ReflectorEvent } from '../kube/Reflector.js';

export interface SubscriberQueueOptions {
  /** Past this many pending events, pending events of the same object are coalesced (latest state wins). */
  softLimit?: number;
  /** Past this many pending objects, the subscription ends with SLOW_CONSUMER. */
  hardLimit?: number;
}

/**
 * A bounded buffer between a reflector and one subscriber. A subscriber that
 * keeps up sees every event in order; one that falls behind sees each object's
 * latest state; one that falls too far behind is ended, so memory stays bounded.
 */
export class SubscriberQueue implements AsyncIterableIterator<ReflectorEvent> {
  private readonly pending: ReflectorEvent[] = [];
  private readonly softLimit: number;
  private readonly hardLimit: number;
  private waiting: ((result: IteratorResult<ReflectorEvent>) => void) | undefined;
  private failed: Error | undefined;
  private done = false;
  private readonly onClose: () => void;

  constructor(onClose: () => void, options: SubscriberQueueOptions = {}) {
    this.onClose = onClose;
    this.softLimit = options.softLimit ?? 256;
    this.hardLimit = options.hardLimit ?? 4096;
  }

  push(event: ReflectorEvent): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.pending.length >= this.softLimit) {
      const key = objectKey(event.object);
      const i = this.pending.findIndex((e) => objectKey(e.object) === key);
      if (i >= 0) {
        const previous = this.pending[i] as ReflectorEvent;
        // An object the subscriber has not yet seen added stays ADDED.
        const type = previous.type === 'ADDED' && event.type === 'MODIFIED' ? 'ADDED' : event.type;
        this.pending[i] = { ...event, type };
        return;
      }
      if (this.pending.length >= this.hardLimit) {
        this.fail(
          new GraphQLError('Subscriber too slow: events were arriving faster than it read them.', {
            extensions: { code: 'SLOW_CONSUMER' },
          }),
        );
        return;
      }
    }
    this.pending.push(event);
  }

  private fail(err: Error): void {
    this.failed = err;
    this.pending.length = 0;
    this.close();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.onClose();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  async next(): Promise<IteratorResult<ReflectorEvent>> {
    const event = this.pending.shift();
    if (event) return { value: event, done: false };
    if (this.failed) {
      const err = this.failed;
      this.failed = undefined;
      throw err;
    }
    if (this.done) return { value: undefined, done: true };
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<ReflectorEvent>> {
    this.pending.length = 0;
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
