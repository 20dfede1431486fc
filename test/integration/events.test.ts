import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { apiVersion, kinds, resourcePath } from '../../src/kube/kinds.js';
import { watchCount } from '../helpers/apiserverMetrics.js';
import { createNamespace, eventually, kubeClient, kubeconfigPath } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createObjects, gitResource, pipeline } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let other: string;
const cleanups: (() => Promise<void>)[] = [];
const admin = kubeClient('admin');

interface Ev {
  type: string;
  resourceVersion: string;
  cursor: string | null;
  object: { name: string } | null;
}

beforeAll(async () => {
  const a = await createNamespace('events');
  const b = await createNamespace('events-other');
  ns = a.name;
  other = b.name;
  cleanups.push(a.remove, b.remove);
  gw = await startGateway({ eventLog: { maxEvents: 50 } });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all(cleanups.map((c) => c()));
});

/** Subscribes and waits until the server has attached the subscription to the cache. */
async function subscribe(field: string, args: string, kind: 'PipelineResource' | 'ResourceBinding' | 'Pipeline' | 'PipelineRun') {
  const cache = gw.cache.kind(kind);
  const before = cache.listenerCount;
  const sub = collect<Record<string, Ev>>(
    gw.ws(),
    `subscription { ${field}(${args}) { type resourceVersion cursor object { name } } }`,
  );
  await eventually(() => (cache.listenerCount > before || sub.received.length > 0 || sub.failure ? true : undefined));
  return { ...sub, events: () => sub.received.map((d) => d[field] as Ev) };
}

const merge = (
  kind: 'ResourceBinding' | 'Pipeline' | 'PipelineRun' | 'PipelineResource',
  namespace: string,
  name: string,
  body: unknown,
) => admin.request('PATCH', resourcePath(kinds[kind], namespace, name), { body, contentType: 'application/merge-patch+json' });

describe('each kind streams create, update and delete in order, filtered', () => {
  it('resourceBindingEvents (filtered by pipeline)', async () => {
    const sub = await subscribe('resourceBindingEvents', `namespace: "${ns}", pipeline: "p1"`, 'ResourceBinding');
    const make = (name: string, p: string) => ({
      kind: 'ResourceBinding' as const,
      name,
      body: { spec: { pipelineRef: { name: p }, resources: [] } },
    });
    await createObjects(ns, [make('b1', 'p1'), make('b2', 'p2')]);
    await createObjects(other, [make('b1', 'p1')]);
    await merge('ResourceBinding', ns, 'b1', { metadata: { labels: { changed: 'yes' } } });
    await admin.request('DELETE', resourcePath(kinds.ResourceBinding, ns, 'b1'));
    await eventually(() => (sub.events().length >= 3 ? true : undefined));
    sub.dispose();
    expect(sub.events().map((e) => `${e.type} ${e.object?.name}`)).toEqual(['ADDED b1', 'MODIFIED b1', 'DELETED b1']);
  });

  it('pipelineEvents (filtered by name)', async () => {
    const sub = await subscribe('pipelineEvents', `namespace: "${ns}", name: "deploy"`, 'Pipeline');
    await createObjects(ns, [pipeline('deploy', { target: 'cluster' }), pipeline('test', {})]);
    await merge('Pipeline', ns, 'deploy', { spec: { description: 'changed' } });
    await admin.request('DELETE', resourcePath(kinds.Pipeline, ns, 'deploy'));
    await eventually(() => (sub.events().length >= 3 ? true : undefined));
    sub.dispose();
    expect(sub.events().map((e) => `${e.type} ${e.object?.name}`)).toEqual(['ADDED deploy', 'MODIFIED deploy', 'DELETED deploy']);
  });

  it('pipelineRunEvents (filtered by pipeline), including status changes', async () => {
    const sub = await subscribe('pipelineRunEvents', `namespace: "${ns}", pipeline: "build"`, 'PipelineRun');
    const run = (name: string, p: string) => ({
      kind: 'PipelineRun' as const,
      name,
      body: { spec: { pipelineRef: { name: p } } },
    });
    await createObjects(ns, [run('build-1', 'build'), run('lint-1', 'lint')]);
    // Tekton's controller changes its status: no pipeline "build" exists, so it fails the run.
    const failed = await eventually(async () => {
      const pr = await admin.request<{
        metadata: { resourceVersion: string };
        status?: { conditions?: { type: string; status: string; reason: string }[] };
      }>('GET', resourcePath(kinds.PipelineRun, ns, 'build-1'));
      const condition = pr.status?.conditions?.find((c) => c.type === 'Succeeded' && c.status === 'False');
      return condition && { reason: condition.reason, resourceVersion: pr.metadata.resourceVersion };
    });
    expect(failed.reason).toBe('CouldntGetPipeline');
    // Every write Tekton made up to the failure is streamed, the failed state last.
    await eventually(() => (sub.events().at(-1)?.resourceVersion === failed.resourceVersion ? true : undefined));
    await admin.request('DELETE', resourcePath(kinds.PipelineRun, ns, 'build-1'));
    await eventually(() => (sub.events().at(-1)?.type === 'DELETED' ? true : undefined));
    sub.dispose();
    const seen = sub.events().map((e) => `${e.type} ${e.object?.name}`);
    expect(seen[0]).toBe('ADDED build-1');
    expect(seen.slice(1, -1).every((e) => e === 'MODIFIED build-1')).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe('DELETED build-1');
    const versions = sub.events().map((e) => BigInt(e.resourceVersion));
    expect(versions.every((v, i) => i === 0 || (versions[i - 1] as bigint) < v)).toBe(true);
    expect(sub.events().at(-2)?.resourceVersion).toBe(failed.resourceVersion);
  });
});

describe('resuming with since', () => {
  it('replays exactly the events missed, then streams live ones', async () => {
    const first = await subscribe('pipelineResourceEvents', `namespace: "${ns}"`, 'PipelineResource');
    await createObjects(ns, [gitResource('r1')]);
    await eventually(() => (first.events().length >= 1 ? true : undefined));
    first.dispose();
    const last = first.events().at(-1)?.resourceVersion;
    await createObjects(ns, [gitResource('r2'), gitResource('r3')]);
    await merge('PipelineResource', ns, 'r1', { spec: { description: 'x' } });
    await eventually(() => (gw.cache.kind('PipelineResource').get(ns, 'r1')?.spec ? true : undefined));

    const second = await subscribe('pipelineResourceEvents', `namespace: "${ns}", since: "${last}"`, 'PipelineResource');
    await eventually(() => (second.events().length >= 3 ? true : undefined));
    await createObjects(ns, [gitResource('r4')]);
    await eventually(() => (second.events().length >= 4 ? true : undefined));
    second.dispose();
    expect(second.events().map((e) => `${e.type} ${e.object?.name}`)).toEqual([
      'ADDED r2',
      'ADDED r3',
      'MODIFIED r1',
      'ADDED r4',
    ]);
    const all = [...first.events(), ...second.events()].map((e) => e.resourceVersion);
    expect(new Set(all).size).toBe(all.length);
  });

  it('resumes from the last cursor with exactly the events after it', async () => {
    // The last test's subscriptions have left (subscribe() waits for the count to grow).
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount === 0 ? true : undefined));
    const first = await subscribe('pipelineResourceEvents', `namespace: "${ns}"`, 'PipelineResource');
    await createObjects(ns, [gitResource('c1')]);
    await merge('PipelineResource', ns, 'c1', { spec: { description: 'a' } });
    await eventually(() => (first.events().length >= 2 ? true : undefined));
    const attached = gw.cache.kind('PipelineResource').listenerCount;
    first.dispose();
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount < attached ? true : undefined));
    const cursor = first.events().at(-1)?.cursor;
    expect(cursor).toBe(`v1:${first.events().at(-1)?.resourceVersion}`);
    await merge('PipelineResource', ns, 'c1', { spec: { description: 'b' } });
    await admin.request('DELETE', resourcePath(kinds.PipelineResource, ns, 'c1'));
    await eventually(() => (gw.cache.kind('PipelineResource').get(ns, 'c1') ? undefined : true));

    const resyncs = () => gw.cache.histories.find((h) => h.kind === 'PipelineResource')?.resyncs;
    const resyncsBefore = resyncs();
    const second = await subscribe('pipelineResourceEvents', `namespace: "${ns}", since: "${cursor}"`, 'PipelineResource');
    await eventually(() => (second.events().length >= 2 ? true : undefined));
    second.dispose();
    expect(second.events().map((e) => `${e.type} ${e.object?.name}`)).toEqual(['MODIFIED c1', 'DELETED c1']);
    const cursors = [...first.events(), ...second.events()].map((e) => e.cursor);
    expect(new Set(cursors).size).toBe(4);
    expect(resyncs()).toBe(resyncsBefore);
  });

  it('sends RESYNC and the current state when the log no longer reaches back', async () => {
    const start = gw.cache.kind('PipelineResource').resourceVersion;
    // The gateway keeps 50 events per kind: 60 writes push `start` out of its log.
    for (let i = 0; i < 60; i++) await merge('PipelineResource', ns, 'r4', { spec: { description: `v${i}` } });
    await eventually(() =>
      (gw.cache.kind('PipelineResource').get(ns, 'r4')?.spec as { description?: string })?.description === 'v59'
        ? true
        : undefined,
    );
    const resyncsBefore = gw.cache.histories.find((h) => h.kind === 'PipelineResource')?.resyncs ?? 0;
    const sub = await subscribe('pipelineResourceEvents', `namespace: "${ns}", since: "${start}"`, 'PipelineResource');
    await eventually(() => (sub.events().length >= 5 ? true : undefined));
    sub.dispose();
    const [resync, ...state] = sub.events();
    expect(resync).toMatchObject({ type: 'RESYNC', object: null, cursor: null });
    expect(gw.cache.histories.find((h) => h.kind === 'PipelineResource')?.resyncs).toBe(resyncsBefore + 1);
    // Only the snapshot's last event says where to resume from: the state is complete only there.
    expect(state.map((e) => e.cursor)).toEqual([null, null, null, `v1:${resync?.resourceVersion}`]);
    expect(state.map((e) => `${e.type} ${e.object?.name}`).sort()).toEqual(['ADDED r1', 'ADDED r2', 'ADDED r3', 'ADDED r4']);
  });
});

describe('fan-out', () => {
  it('serves 100 subscribers from one Kubernetes watch per kind', async () => {
    const before = await watchCount(kubeconfigPath(), { resources: ['pipelineresources'] });
    const subs: ReturnType<typeof collect<Record<string, Ev>>>[] = [];
    for (let i = 0; i < 100; i++)
      subs.push(
        collect<Record<string, Ev>>(gw.ws(), `subscription { pipelineResourceEvents(namespace: "${ns}", name: "fan") { type } }`),
      );
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount >= 100 ? true : undefined), 20_000);
    await createObjects(ns, [gitResource('fan')]);
    await eventually(() => (subs.every((s) => s.received.length === 1) ? true : undefined), 20_000);
    expect(await watchCount(kubeconfigPath(), { resources: ['pipelineresources'] })).toBe(before);
    expect(before).toBe(1);
    for (const s of subs) s.dispose();
  });
});

describe('slow consumers', () => {
  it('a subscriber that stops reading is ended with SLOW_CONSUMER, and the gateway keeps no backlog for it', async () => {
    // Limits a reading subscriber never reaches (writes come 16 at a time), but a stalled one does.
    const slow = await startGateway({ subscriptions: { softLimit: 50, hardLimit: 100 } });
    try {
      const socket = new WebSocket(slow.url.replace('http', 'ws'), 'graphql-transport-ws');
      const messages: string[] = [];
      socket.on('message', (m) => messages.push(String(m)));
      await new Promise((r) => socket.once('open', r));
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await eventually(() => (messages.some((m) => m.includes('connection_ack')) ? true : undefined));
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: {
            query: `subscription { pipelineResourceEvents(namespace: "${ns}") { type object { name description params { name value } } } }`,
          },
        }),
      );
      const reader = collect<Record<string, Ev>>(
        slow.ws(),
        `subscription { pipelineResourceEvents(namespace: "${ns}") { type object { name } } }`,
      );
      await eventually(() => (slow.cache.kind('PipelineResource').listenerCount >= 2 ? true : undefined));
      // Stop reading: the kernel buffers fill, then the server's send buffer, then its queue.
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
      // ~40 KB an event, 12 MB in all: more than loopback's socket buffers hold.
      const params = Array.from({ length: 10 }, (_, j) => ({
        name: j ? `p${j}` : 'url',
        value: `https://e.com/${'x'.repeat(4000)}`,
      }));
      const writes = [];
      for (let i = 0; i < 300; i++) {
        writes.push(
          admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
            body: {
              apiVersion: apiVersion(kinds.PipelineResource),
              kind: 'PipelineResource',
              metadata: { name: `slow-${i}` },
              spec: { type: 'git', params },
            },
          }),
        );
        if (writes.length >= 16) await Promise.all(writes.splice(0));
      }
      await Promise.all(writes);
      // Once more than hardLimit distinct objects wait, the stalled subscription is ended and unsubscribed;
      // the reading one got every event.
      await eventually(() => (slow.cache.kind('PipelineResource').listenerCount === 1 ? true : undefined), 20_000);
      await eventually(() => (reader.received.length >= 300 ? true : undefined), 20_000);
      expect(reader.failure).toBeUndefined();
      (socket as unknown as { _socket: { resume(): void } })._socket.resume();
      await eventually(() => (messages.some((m) => m.includes('SLOW_CONSUMER')) ? true : undefined), 20_000);
      socket.close();
    } finally {
      await slow.stop();
    }
  });
});
