import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import { type Delivery, type StreamEvent, SubscriberQueue } from '../../src/subscriptions/SubscriberQueue.js';

const event = (type: StreamEvent['type'], name: string, rv: number): StreamEvent => ({
  type,
  object: { metadata: { name, namespace: 'ns', resourceVersion: String(rv) } } as KubeObject,
  resourceVersion: String(rv),
  cursor: `v1:${rv}`,
});
/** A rendering that shows what the queue decided: type, name, cursor. */
const rendered = (e: StreamEvent): Delivery => ({ event: e, json: `${e.type} ${e.object?.metadata.name} ${e.cursor}` });
const queue = (softLimit: number, hardLimit: number) => new SubscriberQueue({ softLimit, hardLimit }, rendered);
const drain = (q: SubscriberQueue) => {
  const out: string[] = [];
  for (let d = q.take(); d; d = q.take()) out.push(d.json as string);
  return out;
};

describe('SubscriberQueue', () => {
  it('keeps every event in order below the soft limit', () => {
    const q = queue(3, 10);
    for (const e of [event('ADDED', 'a', 1), event('MODIFIED', 'a', 2), event('MODIFIED', 'a', 3)]) q.push(rendered(e));
    expect(drain(q)).toEqual(['ADDED a v1:1', 'MODIFIED a v1:2', 'MODIFIED a v1:3']);
    expect(q.length).toBe(0);
  });

  it('coalesces past the soft limit with the newer state last, so cursors still arrive in order', () => {
    const q = queue(2, 10);
    q.push(rendered(event('ADDED', 'a', 10)));
    q.push(rendered(event('MODIFIED', 'b', 11)));
    expect(q.push(rendered(event('MODIFIED', 'a', 12)))).toBe('queued');
    // `a` was never seen, so it stays ADDED (rendered again as such); had a@12 come first, a resume from v1:12 would skip b@11.
    expect(drain(q)).toEqual(['MODIFIED b v1:11', 'ADDED a v1:12']);
  });

  it('a deletion replaces the pending state of its object', () => {
    const q = queue(1, 10);
    q.push(rendered(event('MODIFIED', 'a', 1)));
    q.push(rendered(event('DELETED', 'a', 2)));
    expect(drain(q)).toEqual(['DELETED a v1:2']);
  });

  it('answers overflow past the hard limit with a new object, and queues nothing then', () => {
    const q = queue(2, 3);
    for (let i = 0; i < 3; i++) expect(q.push(rendered(event('ADDED', `o${i}`, i)))).toBe('queued');
    expect(q.push(rendered(event('ADDED', 'o3', 3)))).toBe('overflow');
    expect(q.length).toBe(3);
    // An object already pending is still coalesced at the hard limit.
    expect(q.push(rendered(event('MODIFIED', 'o0', 4)))).toBe('queued');
    expect(drain(q)).toEqual(['ADDED o1 v1:1', 'ADDED o2 v1:2', 'ADDED o0 v1:4']);
  });

  it('takes only deliveries whose bytes are ready, in order', () => {
    const q = queue(10, 10);
    const slow: Delivery = { event: event('ADDED', 'a', 1), json: undefined };
    q.preload(slow);
    q.push(rendered(event('ADDED', 'b', 2)));
    expect(q.ready).toBe(false);
    expect(q.take()).toBeUndefined();
    slow.json = 'a ready';
    expect(drain(q)).toEqual(['a ready', 'ADDED b v1:2']);
  });

  it('preloads past both limits (a replay is bounded by the cache)', () => {
    const q = queue(1, 2);
    for (let i = 0; i < 5; i++) q.preload(rendered(event('ADDED', `o${i}`, i)));
    expect(q.length).toBe(5);
    expect(q.push(rendered(event('ADDED', 'x', 9)))).toBe('overflow');
    q.clear();
    expect(q.length).toBe(0);
    expect(q.take()).toBeUndefined();
  });

  it('keeps its order across many takes and pushes (the array is compacted as it goes)', () => {
    const q = queue(100_000, 100_000);
    const out: string[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(rendered(event('ADDED', `o${i}`, i)));
      if (i % 3 === 0) out.push(q.take()?.json as string);
    }
    out.push(...drain(q));
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => `ADDED o${i} v1:${i}`));
  });
});
