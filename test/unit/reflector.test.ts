import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/KubeClient.js';
import { kinds } from '../../src/kube/kinds.js';
import { Reflector, type ReflectorEvent } from '../../src/kube/Reflector.js';
import { ResourceCache } from '../../src/kube/ResourceCache.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { EventLog } from '../../src/subscriptions/EventLog.js';

/**
 * The reflector against a fake apiserver at the HTTP layer: scripted LIST and
 * WATCH answers, to reach the faults a real one rarely shows on cue.
 */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

const servers: { close(): void }[] = [];
const reflectors: Reflector[] = [];
const caches: ResourceCache[] = [];
afterEach(async () => {
  await Promise.all([...reflectors.splice(0), ...caches.splice(0)].map((r) => r.stop()));
  for (const s of servers.splice(0)) s.close();
});

async function fakeApiserver(handler: Handler): Promise<KubeClient> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return new KubeClient({ kubeConfig: kc, logger: pino({ level: 'silent' }) });
}

const obj = (name: string, rv: string) => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{ manager: 'x' }] },
});
const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const line = (res: ServerResponse, body: unknown) => res.write(`${typeof body === 'string' ? body : JSON.stringify(body)}\n`);

function start(client: KubeClient) {
  const events: string[] = [];
  const r = new Reflector({
    client,
    kind: kinds.PipelineResource,
    logger: pino({ level: 'silent' }),
    watchTimeoutSeconds: [1, 1],
    stallGraceMs: 300,
    backoff: { initialMs: 10, maxMs: 50 },
  });
  r.subscribe((e: ReflectorEvent) => events.push(`${e.type} ${e.object.metadata.name} ${e.resourceVersion}`));
  reflectors.push(r);
  r.start();
  return { r, events };
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

it('relists on 410 Gone and emits the difference: changes in resourceVersion order, then deletions at the LIST position', async () => {
  let lists = 0;
  const watches: string[] = [];
  const client = await fakeApiserver((_req, res, url) => {
    if (url.searchParams.get('watch') !== 'true') {
      lists++;
      return json(
        res,
        lists === 1
          ? { metadata: { resourceVersion: '10' }, items: [obj('a', '5'), obj('b', '6')] }
          : { metadata: { resourceVersion: '30' }, items: [obj('a', '11'), obj('d', '25'), obj('c', '15')] },
      );
    }
    watches.push(url.searchParams.get('resourceVersion') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watches.length === 1) {
      line(res, { type: 'MODIFIED', object: obj('a', '11') });
      line(res, { type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
      res.end();
    }
  });
  const { r, events } = start(client);
  await until(() => events.length >= 6 && watches.length >= 2);
  // A deletion keeps the object's last known version; its place in the stream is the LIST's.
  expect(events).toEqual(['ADDED a 5', 'ADDED b 6', 'MODIFIED a 11', 'ADDED c 15', 'ADDED d 25', 'DELETED b 6']);
  expect(watches.slice(0, 2)).toEqual(['10', '30']);
  expect(r.get('ns', 'a')?.metadata.managedFields).toBeUndefined();
});

it('restarts a watch that goes silent past its timeout, from the last resourceVersion', async () => {
  const watches: string[] = [];
  const client = await fakeApiserver((_req, res, url) => {
    if (url.searchParams.get('watch') !== 'true') return json(res, { metadata: { resourceVersion: '7' }, items: [] });
    watches.push(url.searchParams.get('resourceVersion') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watches.length === 1) line(res, { type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '9' } } });
    // …and then nothing, never ending the response: a stalled watch.
  });
  start(client);
  await until(() => watches.length >= 2, 5000);
  expect(watches.slice(0, 2)).toEqual(['7', '9']);
});

it('does not drop a line it cannot parse: the watch resumes before it, so the event comes again', async () => {
  const watches: string[] = [];
  const client = await fakeApiserver((_req, res, url) => {
    if (url.searchParams.get('watch') !== 'true') return json(res, { metadata: { resourceVersion: '1' }, items: [] });
    watches.push(url.searchParams.get('resourceVersion') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watches.length === 1) {
      line(res, { type: 'ADDED', object: obj('a', '2') });
      line(res, '{"type":"ADDED","object":{"metad');
      res.end();
    } else if (watches.length === 2) {
      line(res, { type: 'ADDED', object: obj('b', '3') });
    }
  });
  const { events } = start(client);
  await until(() => events.length >= 2);
  expect(events).toEqual(['ADDED a 2', 'ADDED b 3']);
  expect(watches.slice(0, 2)).toEqual(['1', '2']);
});

it('retries with backoff while the apiserver fails, and is synced once it answers', async () => {
  let calls = 0;
  const client = await fakeApiserver((_req, res, url) => {
    if (url.searchParams.get('watch') === 'true') return void res.writeHead(200).write('');
    calls++;
    if (calls < 4) {
      res.writeHead(503);
      return void res.end('{"kind":"Status","code":503}');
    }
    json(res, { metadata: { resourceVersion: '1' }, items: [obj('a', '1')] });
  });
  const { r } = start(client);
  await r.synced;
  expect(calls).toBe(4);
  expect(r.restarts).toBe(3);
  expect(r.size).toBe(1);
});

describe('a resume across a relist that found deletions (issue 18)', () => {
  /**
   * The case: a 410 relist at 3321 finds r-39, r-31, r-15 and r-10
   * deleted and r-44 modified at 3321 itself, between watched changes.
   */
  async function scenario() {
    let lists = 0;
    let watches = 0;
    let subscribed = false;
    const client = await fakeApiserver((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        return json(
          res,
          lists === 1
            ? {
                metadata: { resourceVersion: '3300' },
                items: [
                  obj('r-39', '3001'),
                  obj('r-31', '3002'),
                  obj('r-15', '3003'),
                  obj('r-10', '3004'),
                  obj('r-44', '3100'),
                  obj('r-50', '3200'),
                ],
              }
            : { metadata: { resourceVersion: '3321' }, items: [obj('r-44', '3321'), obj('r-50', '3310'), obj('r-60', '3315')] },
        );
      }
      watches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (watches === 1) {
        void until(() => subscribed).then(() => {
          line(res, { type: 'MODIFIED', object: obj('r-50', '3310') });
          line(res, { type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
          res.end();
        });
      } else if (watches === 2) {
        line(res, { type: 'MODIFIED', object: obj('r-44', '3330') });
        line(res, { type: 'DELETED', object: obj('r-50', '3331') });
      }
    });
    const logLines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void logLines.push(JSON.parse(s)) });
    const cache = new ResourceCache({
      client,
      logger,
      kinds: ['PipelineResource'],
      eventHistory: () => new EventLog(),
      reflector: { watchTimeoutSeconds: [5, 5], backoff: { initialMs: 10, maxMs: 50 } },
    });
    caches.push(cache);
    const metrics = new GatewayMetrics();
    metrics.watch(cache);
    cache.start();
    await cache.synced();
    const kind = cache.kind('PipelineResource');
    const events: ReflectorEvent[] = [];
    kind.subscribe((e) => events.push(e));
    subscribed = true;
    await until(() => events.length >= 9);
    return { cache, kind, events, metrics, logLines };
  }

  const describeEvent = (e: ReflectorEvent) =>
    `${e.type} ${e.object.metadata.name}@${e.resourceVersion} ${e.cursor.replace(/:[0-9a-f]{12}:/, ':R:')}`;

  it('gives every event its own cursor, and the deletions their last known resourceVersion', async () => {
    const { events } = await scenario();
    expect(events.map(describeEvent)).toEqual([
      'MODIFIED r-50@3310 v1:3310',
      'ADDED r-60@3315 v1:3315:R:0',
      'MODIFIED r-44@3321 v1:3321:R:1',
      'DELETED r-39@3001 v1:3321:R:2',
      'DELETED r-31@3002 v1:3321:R:3',
      'DELETED r-15@3003 v1:3321:R:4',
      'DELETED r-10@3004 v1:3321',
      'MODIFIED r-44@3330 v1:3330',
      'DELETED r-50@3331 v1:3331',
    ]);
    expect(new Set(events.map((e) => e.cursor)).size).toBe(9);
    // One relist id for the whole relist.
    expect(new Set(events.slice(1, 6).map((e) => e.cursor.split(':')[2])).size).toBe(1);
  });

  it('resumes from each cursor with exactly the events after it: none twice, none missing', async () => {
    const { kind, events } = await scenario();
    for (let k = 0; k < events.length; k++) {
      expect(kind.log.since((events[k] as ReflectorEvent).cursor)?.map(describeEvent), `after event ${k}`).toEqual(
        events.slice(k + 1).map(describeEvent),
      );
    }
  });

  it('a bare resourceVersion inside the relist replays the whole relist again, never skipping its deletions', async () => {
    const { kind, events } = await scenario();
    const all = events.map(describeEvent);
    // 3321 is r-44's version, which older clients passed: the four deletions after it come again.
    expect(kind.log.since('3321')?.map(describeEvent)).toEqual(all.slice(1));
    expect(kind.log.since('3316')?.map(describeEvent)).toEqual(all.slice(1));
    expect(kind.log.since('3310')?.map(describeEvent)).toEqual(all.slice(1));
    expect(kind.log.since('3330')?.map(describeEvent)).toEqual(all.slice(8));
  });

  it('a cursor from another replica: inside a relist it does not know, RESYNC; a complete one resumes exactly', async () => {
    const { kind, events } = await scenario();
    expect(kind.log.since('v1:3321:0123456789ab:1')).toBeUndefined();
    expect(kind.log.since('v1:3321')?.map(describeEvent)).toEqual(events.slice(7).map(describeEvent));
    // Older than the first LIST (3300): the log cannot tell, so RESYNC.
    expect(kind.log.since('v1:3299')).toBeUndefined();
    expect(kind.log.since('v1:not-a-cursor')).toBeUndefined();
  });

  it('counts the relist and its 6 synthesized events in /metrics, and logs how many it synthesized', async () => {
    const { cache, metrics, logLines } = await scenario();
    expect(cache.stats).toEqual([
      expect.objectContaining({ kind: 'PipelineResource', relists: 1, expired: 1, synthesized: 6, objects: 2 }),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('gateway_watch_relists{kind="PipelineResource",namespace=""} 1\n');
    expect(text).toContain('gateway_relist_synthesized_events{kind="PipelineResource",namespace=""} 6\n');
    expect(text).toContain('gateway_subscription_resyncs{kind="PipelineResource"} 0\n');
    expect(logLines.filter((l) => l.msg === 'relisted: emitted the differences')).toEqual([
      expect.objectContaining({
        kind: 'PipelineResource',
        resourceVersion: '3321',
        synthesized: 6,
        added: 1,
        modified: 1,
        deleted: 4,
      }),
    ]);
  });
});

it('lists by namespace, then name (a namespace before the longer ones it prefixes), shared until a write there', async () => {
  const at = (namespace: string, name: string, rv: string) => ({ metadata: { name, namespace, resourceVersion: rv } });
  let send: ((body: unknown) => void) | undefined;
  const client = await fakeApiserver((_req, res, url) => {
    if (url.searchParams.get('watch') !== 'true') {
      // The apiserver's own order: its storage keys, `ns/name`, where "a-b/…" comes before "a/…".
      return json(res, {
        metadata: { resourceVersion: '10' },
        items: [at('a-b', 'x', '1'), at('a', 'z', '2'), at('a', 'b', '3'), at('c', 'a', '4')],
      });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    send = (body) => line(res, body);
  });
  const { r, events } = start(client);
  await until(() => send !== undefined);
  const names = (list: readonly { metadata: { namespace?: string; name: string } }[]) =>
    list.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  expect(names(r.list())).toEqual(['a/b', 'a/z', 'a-b/x', 'c/a']);
  expect(names(r.list('a'))).toEqual(['a/b', 'a/z']);
  expect(names(r.list('none'))).toEqual([]);
  // Namespaces a caller names but nothing is in keep nothing: after 1,000 of them only `a`'s list is kept.
  for (let i = 0; i < 1_000; i++) r.list(`absent-${i}`);
  expect(r.sortedNamespaces).toBe(1);
  const a = r.list('a');
  const c = r.list('c');
  const all = r.list();
  // Unchanged: the same arrays, not sorted again.
  expect(r.list('a')).toBe(a);
  expect(r.list()).toBe(all);
  send?.({ type: 'ADDED', object: at('a', 'm', '11') });
  send?.({ type: 'DELETED', object: at('a', 'z', '12') });
  await until(() => events.length === 6);
  expect(names(r.list('a'))).toEqual(['a/b', 'a/m']);
  expect(names(r.list())).toEqual(['a/b', 'a/m', 'a-b/x', 'c/a']);
  // A write in one namespace leaves another's list as it was.
  expect(r.list('c')).toBe(c);
  expect(names(a)).toEqual(['a/b', 'a/z']);
});
