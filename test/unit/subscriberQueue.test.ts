import { expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import { type StreamEvent, SubscriberQueue } from '../../src/subscriptions/SubscriberQueue.js';

const event = (type: StreamEvent['type'], name: string, rv: number): StreamEvent => ({
  type,
  object: { metadata: { name, namespace: 'ns', resourceVersion: String(rv) } } as KubeObject,
  resourceVersion: String(rv),
  cursor: `v1:${rv}`,
});

it('coalesces past the soft limit with the newer state last, so cursors still arrive in order', async () => {
  const queue = new SubscriberQueue(() => {}, { softLimit: 2, hardLimit: 10 });
  queue.push(event('ADDED', 'a', 10));
  queue.push(event('MODIFIED', 'b', 11));
  queue.push(event('MODIFIED', 'a', 12));
  const got: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { value } = await queue.next();
    got.push(`${value?.type} ${value?.object?.metadata.name} ${value?.cursor}`);
  }
  // `a` was never seen, so it stays ADDED; had a@12 come first, a resume from v1:12 would skip b@11.
  expect(got).toEqual(['MODIFIED b v1:11', 'ADDED a v1:12']);
});
