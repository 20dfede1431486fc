import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/KubeClient.js';
import { kinds } from '../../src/kube/kinds.js';
import { Reflector, type ReflectorEvent } from '../../src/kube/Reflector.js';

/**
 * The reflector against a fake apiserver at the HTTP layer: scripted LIST and
 * WATCH answers, to reach the faults a real one rarely shows on cue.
 */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

const servers: { close(): void }[] = [];
const reflectors: Reflector[] = [];
afterEach(async () => {
  await Promise.all(reflectors.splice(0).map((r) => r.stop()));
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

it('relists on 410 Gone and emits the difference: changes in resourceVersion order, deletions at the LIST version', async () => {
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
  expect(events).toEqual(['ADDED a 5', 'ADDED b 6', 'MODIFIED a 11', 'ADDED c 15', 'ADDED d 25', 'DELETED b 30']);
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
