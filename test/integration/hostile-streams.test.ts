import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { apiVersion, kinds, resourcePath } from '../../src/kube/kinds.js';
import { estimateBytes } from '../../src/subscriptions/EventLog.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { expectBystanderUnharmed, userToken, whileAttacking } from '../helpers/hostile.js';

/**
 * Issue 11, "Memory for what is live" and "/metrics": the event log is bounded
 * by bytes, SSE streams count against the connection limits and a per-user cap,
 * a stalled SSE reader is ended, and /metrics is bounded and not open to all.
 */

// A full collection on demand, so heap figures are live objects, not garbage awaiting collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const admin = kubeClient('admin');
let ns: string;
let removeNamespace: () => Promise<void>;

beforeAll(async () => {
  ({ name: ns, remove: removeNamespace } = await createNamespace('hostile-streams'));
  // alice is a tenant who may edit this namespace, as she may team-a.
  await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    },
  });
});

afterAll(async () => {
  // No namespace controller runs here: delete what was made (alice's rights included), then the namespace.
  await admin.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/alice-edit`);
  for (const kind of [kinds.PipelineRun, kinds.PipelineResource]) {
    await admin.request('DELETE', resourcePath(kind, ns)).catch(() => {});
  }
  await removeNamespace?.();
});

interface Stream {
  status: number;
  /** Everything received so far. */
  text(): string;
  close(): void;
  closed: Promise<void>;
}

/** A subscription over SSE with node's own HTTP client, from `localAddress` (any 127.x.y.z is loopback). */
function openSse(url: string, query: string, options: { token?: string; localAddress?: string } = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let body = '';
    let res: IncomingMessage | undefined;
    const req: ClientRequest = request(url, {
      method: 'POST',
      localAddress: options.localAddress,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    });
    const closed = new Promise<void>((done) => req.once('close', () => done()));
    req.once('error', (err) => (res ? undefined : reject(err)));
    req.once('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        body += chunk;
      });
      r.on('error', () => {});
      resolve({ status: r.statusCode ?? 0, text: () => body, close: () => req.destroy(), closed });
    });
    req.end(JSON.stringify({ query }));
  });
}

/** The `data:` payloads of an SSE body, parsed. */
const sseData = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));

const prSubscription = (namespace: string, extra = '') =>
  `subscription { pipelineResourceEvents(namespace: "${namespace}"${extra}) { type resourceVersion object { name } } }`;

describe('the event log holds what is live', () => {
  const logBudget = 4 * 1024 * 1024;
  let gw: TestGateway;
  beforeAll(async () => {
    // The report's attack (352 versions of two 1 MB runs against the default 32 MiB) scaled by 1/8 in
    // budget and in bytes written, so it runs in a minute on a shared two-core machine: same ratio.
    gw = await startGateway({ auth: 'token', eventLog: { maxBytes: logBudget } });
  });
  afterAll(async () => gw?.stop());

  it('64 versions of two 230 KB PipelineRuns keep the log within its byte budget, replay from before it is RESYNC, and deleting them frees the memory', async () => {
    const alice = kubeClient('alice');
    const path = resourcePath(kinds.PipelineRun, ns);
    // 29 MB written, seven times the log's budget; without the byte bound the log would hold all of it.
    // Each version distinct (so each write is a change, whatever order concurrent writes land in), all of one size.
    // In an annotation: Tekton (which runs here) refuses any change to a run's spec once it has seen the run, and
    // Kubernetes holds annotations to 256 KiB in all.
    const blob = (i: number) => `${String(i).padStart(3, '0')}${'x'.repeat(230 * 1024)}`;
    const run = (name: string) => ({
      apiVersion: apiVersion(kinds.PipelineRun),
      kind: 'PipelineRun',
      metadata: { name, annotations: { blob: blob(0) } },
      spec: { pipelineRef: { name: 'none' } },
    });
    const heapBefore = heapMiB();
    const names = ['big-a', 'big-b'];
    const created = await Promise.all(
      names.map((n) => alice.request<{ metadata: { resourceVersion: string } }>('POST', path, { body: run(n) })),
    );
    const firstVersion = created[0]?.metadata.resourceVersion as string;
    const { bystander } = await whileAttacking(gw, async () => {
      // Each run updated 63 times after its creation (64 versions of each), eight writes in flight; the last write
      // of each run alone, so that it is the one that lands last.
      const write = (n: string, i: number) =>
        alice.request('PATCH', `${path}/${n}`, {
          body: { metadata: { annotations: { blob: blob(i) } } },
          contentType: 'application/merge-patch+json',
        });
      const updates = names.flatMap((n) => Array.from({ length: 62 }, (_, i) => ({ n, i: i + 1 })));
      for (let k = 0; k < updates.length; k += 8) await Promise.all(updates.slice(k, k + 8).map(({ n, i }) => write(n, i)));
      for (const n of names) await write(n, 63);
      await eventually(
        () =>
          names.every((n) => gw.cache.kind('PipelineRun').get(ns, n)?.metadata.annotations?.blob?.startsWith('063'))
            ? true
            : undefined,
        60_000,
      );
    });
    expectBystanderUnharmed(bystander);

    const history = gw.cache.histories.find((h) => h.kind === 'PipelineRun');
    const perEvent = estimateBytes(gw.cache.kind('PipelineRun').get(ns, 'big-b'));
    const fit = Math.floor(logBudget / perEvent);
    expect(fit).toBe(17);
    expect(history?.bytes).toBeLessThanOrEqual(logBudget);
    // 17 whole events fit; one fewer when a resourceVersion gained a digit during the run.
    expect([fit - 1, fit]).toContain(history?.events);

    // Resuming from the first version: the log no longer reaches back, so RESYNC, then the current state.
    const resume = await openSse(
      gw.url,
      `subscription { pipelineRunEvents(namespace: "${ns}", since: "${firstVersion}") { type object { name } } }`,
      { token: userToken('alice') },
    );
    await eventually(() => (sseData(resume.text()).length >= 3 ? true : undefined));
    resume.close();
    expect(resume.status).toBe(200);
    const replay = sseData(resume.text()).map((d) => d.data.pipelineRunEvents);
    expect(replay[0]).toEqual({ type: 'RESYNC', object: null });
    expect(
      replay
        .slice(1, 3)
        .map((e: { type: string; object: { name: string } }) => `${e.type} ${e.object.name}`)
        .sort(),
    ).toEqual(['ADDED big-a', 'ADDED big-b']);

    for (const n of names) await alice.request('DELETE', `${path}/${n}`);
    await eventually(() => (gw.cache.kind('PipelineRun').get(ns, 'big-a') ? undefined : true));
    // What stays is the log's window (at most its 4 MiB budget), not 29 MB of old versions.
    expect(heapMiB() - heapBefore).toBeLessThan(16);
  }, 300_000);
});

describe('SSE streams count against the connection limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ websocket: { maxConnections: 8, maxConnectionsPerClient: 5 } });
  });
  afterAll(async () => gw?.stop());

  it('per client address, then in total, shared with WebSockets: HTTP 429 / 503 TOO_MANY_CONNECTIONS, and WebSocket 1013', async () => {
    const open: Stream[] = [];
    try {
      for (let i = 0; i < 5; i++) open.push(await openSse(gw.url, prSubscription(ns)));
      expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);

      const sixth = await openSse(gw.url, prSubscription(ns));
      expect(sixth.status).toBe(429);
      await sixth.closed;
      expect(JSON.parse(sixth.text()).errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');

      // A WebSocket from the same address counts against the same five.
      const socket = new WebSocket(gw.url.replace('http', 'ws'), 'graphql-transport-ws');
      const code = await new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
      expect(code).toBe(1013);

      // Another address has its own five, until the process's eight are taken.
      for (let i = 0; i < 3; i++) open.push(await openSse(gw.url, prSubscription(ns), { localAddress: '127.0.0.2' }));
      expect(open.slice(5).map((s) => s.status)).toEqual([200, 200, 200]);
      const ninth = await openSse(gw.url, prSubscription(ns), { localAddress: '127.0.0.3' });
      expect(ninth.status).toBe(503);
      await ninth.closed;
      expect(JSON.parse(ninth.text()).errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');

      // A closed stream frees its place.
      open.shift()?.close();
      const again = await eventually(async () => {
        const s = await openSse(gw.url, prSubscription(ns));
        if (s.status === 200) return s;
        s.close();
        return undefined;
      });
      open.push(again);
      expect(again.status).toBe(200);
    } finally {
      for (const s of open) s.close();
    }
  });
});

describe('SSE streams at the default limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The per-user rate limit (200 at once) would otherwise refuse most of these before the connection limit.
    gw = await startGateway({ http: { rate: { burst: 1_000_000, perSecond: 1_000_000 } } });
  });
  afterAll(async () => gw?.stop());

  it("the report's 1,100 from one address: 1,000 are served, the rest refused with 429 TOO_MANY_CONNECTIONS", async () => {
    const open: Stream[] = [];
    try {
      const { result: refused, bystander } = await whileAttacking(gw, async () => {
        for (let i = 0; i < 1_000; i += 50) {
          open.push(...(await Promise.all(Array.from({ length: 50 }, () => openSse(gw.url, prSubscription(ns))))));
        }
        await eventually(() => (gw.cache.kind('PipelineResource').listenerCount === 1_000 ? true : undefined), 30_000);
        const more = await Promise.all(Array.from({ length: 100 }, () => openSse(gw.url, prSubscription(ns))));
        await Promise.all(more.map((s) => s.closed));
        return more;
      });
      expectBystanderUnharmed(bystander);
      expect(open.filter((s) => s.status === 200)).toHaveLength(1_000);
      expect(refused.map((s) => s.status)).toEqual(Array(100).fill(429));
      expect(new Set(refused.map((s) => JSON.parse(s.text()).errors[0].extensions.code))).toEqual(
        new Set(['TOO_MANY_CONNECTIONS']),
      );
    } finally {
      for (const s of open) s.close();
    }
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount === 0 ? true : undefined), 30_000);
  }, 120_000);
});

describe('subscriptions per user, over SSE and WebSocket together', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ auth: 'token', subscriptions: { maxPerUser: 3 } });
  });
  afterAll(async () => gw?.stop());

  it('past the cap: SSE gets HTTP 429 TOO_MANY_SUBSCRIPTIONS, a WebSocket subscription the same code; other users are not affected', async () => {
    const alice = userToken('alice');
    const cache = gw.cache.kind('PipelineResource');
    const streams: Stream[] = [];
    try {
      for (let i = 0; i < 3; i++) streams.push(await openSse(gw.url, prSubscription(ns), { token: alice }));
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
      await eventually(() => (cache.listenerCount === 3 ? true : undefined));

      const fourth = await openSse(gw.url, prSubscription(ns), { token: alice });
      await fourth.closed;
      expect(fourth.status).toBe(429);
      expect(sseData(fourth.text())[0].errors[0].extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS' });

      const overWs = collect(gw.ws(alice), prSubscription(ns));
      await eventually(() => (overWs.failure ? true : undefined));
      expect((overWs.failure as { extensions: { code: string } }[])[0]?.extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');

      // bob has his own allowance (he may watch team-b).
      const bob = await openSse(gw.url, prSubscription('team-b'), { token: userToken('bob') });
      streams.push(bob);
      expect(bob.status).toBe(200);
      await eventually(() => (cache.listenerCount === 4 ? true : undefined));

      // Ending one of alice's frees her slot.
      streams.shift()?.close();
      await eventually(() => (cache.listenerCount === 3 ? true : undefined));
      const replacement = collect(gw.ws(alice), prSubscription(ns));
      await eventually(() => (cache.listenerCount === 4 ? true : undefined));
      expect(replacement.failure).toBeUndefined();
      replacement.dispose();
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('a stalled SSE reader', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ sseWriteTimeoutMs: 1_000, subscriptions: { maxPerUser: 1 } });
  });
  afterAll(async () => gw?.stop());

  it('is ended once a write has waited past the timeout, and its subscription and its slot with it', async () => {
    const cache = gw.cache.kind('PipelineResource');
    const { port } = new URL(gw.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const body = JSON.stringify({
      query: `subscription { pipelineResourceEvents(namespace: "${ns}") { type object { name params { name value } } } }`,
    });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    let received = '';
    socket.setEncoding('utf8');
    socket.once('data', (chunk: string) => {
      received += chunk;
      // Headers read; from here on the client reads nothing.
      socket.pause();
    });
    let closedAt: number | undefined;
    socket.once('close', () => {
      closedAt = Date.now();
    });
    await eventually(() => (received.startsWith('HTTP/1.1 200') && cache.listenerCount === 1 ? true : undefined));

    // ~240 KB an event; 40 MB in all, far more than loopback's socket buffers hold.
    await createLargeResources('stall', 160, 'git');
    const written = Date.now();
    // The server ends the stream: the subscription is gone and the connection closed.
    await eventually(() => (cache.listenerCount === 0 ? true : undefined), 15_000);
    socket.resume();
    await eventually(() => closedAt, 15_000);
    expect((closedAt as number) - written).toBeLessThan(15_000);
    // The user's one subscription slot is free again.
    const next = await openSse(gw.url, prSubscription(ns));
    expect(next.status).toBe(200);
    next.close();
  }, 120_000);
});

/** `count` PipelineResources of ~240 KB each in `ns` (60 params of 4 KB), eight at a time. */
async function createLargeResources(prefix: string, count: number, type: 'git' | 'image'): Promise<void> {
  const params = Array.from({ length: 60 }, (_, j) => ({
    name: j ? `p${j}` : 'url',
    value: `https://e.com/${'x'.repeat(4000)}`,
  }));
  for (let i = 0; i < count; i += 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
          body: {
            apiVersion: apiVersion(kinds.PipelineResource),
            kind: 'PipelineResource',
            metadata: { name: `${prefix}-${i + k}` },
            spec: { type, params },
          },
        }),
      ),
    );
  }
}

describe('a slow SSE reader', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // A write timeout it never reaches, so the queue's hard limit is what ends it.
    gw = await startGateway({ sseWriteTimeoutMs: 600_000, subscriptions: { softLimit: 2, hardLimit: 3 } });
  });
  afterAll(async () => gw?.stop());

  it('that falls past the hard limit gets SLOW_CONSUMER as its last event, then the stream completes', async () => {
    const cache = gw.cache.kind('PipelineResource');
    const { port } = new URL(gw.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const body = JSON.stringify({
      query: `subscription { pipelineResourceEvents(namespace: "${ns}", type: "image") { type object { name params { name value } } } }`,
    });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    await eventually(() => (received.startsWith('HTTP/1.1 200') && cache.listenerCount === 1 ? true : undefined));
    socket.pause();
    await createLargeResources('slow-sse', 80, 'image');
    // More than three objects wait: the subscription ends and leaves the cache.
    await eventually(() => (cache.listenerCount === 0 ? true : undefined), 20_000);
    socket.resume();
    await eventually(() => (received.includes('event: complete') ? true : undefined), 20_000);
    const events = received.split('event: next').slice(1);
    expect(events.at(-1)).toContain('"extensions":{"code":"SLOW_CONSUMER"}');
    expect(events.length).toBeLessThan(80);
    socket.destroy();
  }, 120_000);
});

describe('/metrics', () => {
  const scrapeToken = 'hostile-streams-scrape-token';

  it('answers 404 on the main port when no token is configured, and 401 without the token when one is', async () => {
    const plain = await startGateway();
    try {
      const res = await fetch(plain.url.replace('/graphql', '/metrics'));
      expect(res.status).toBe(404);
      expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
      expect(plain.metricsUrl).toBeUndefined();
    } finally {
      await plain.stop();
    }
    const guarded = await startGateway({ metricsAccess: { token: scrapeToken, port: 0 } });
    try {
      const main = guarded.url.replace('/graphql', '/metrics');
      for (const [url, headers, status] of [
        [main, {}, 401],
        [main, { authorization: 'Bearer wrong-token-of-the-same-sort' }, 401],
        [main, { authorization: `Bearer ${scrapeToken}` }, 200],
        [guarded.metricsUrl as string, {}, 401],
        [guarded.metricsUrl as string, { authorization: `Bearer ${scrapeToken}` }, 200],
        [(guarded.metricsUrl as string).replace('/metrics', '/graphql'), { authorization: `Bearer ${scrapeToken}` }, 404],
      ] as const) {
        const res = await fetch(url, { headers });
        expect(res.status, `${url} ${JSON.stringify(headers)}`).toBe(status);
        if (status === 401) {
          expect(res.headers.get('www-authenticate')).toBe('Bearer');
          expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
        }
      }
    } finally {
      await guarded.stop();
    }
  });

  it('30 names of 50 KB and 220 of 200 KB: 100 names cut to 64 characters plus `other`, and /metrics stays small', async () => {
    const gw = await startGateway({
      metricsAccess: { token: scrapeToken },
      http: { rate: { burst: 1_000_000, perSecond: 1_000_000 } },
    });
    try {
      const name = (i: number, length: number) => `Op${i}_${'x'.repeat(length)}`;
      const names = [
        ...Array.from({ length: 30 }, (_, i) => name(i, 50_000)),
        ...Array.from({ length: 220 }, (_, i) => name(30 + i, 200_000)),
      ];
      for (let i = 0; i < names.length; i += 10) {
        const answers = await Promise.all(names.slice(i, i + 10).map((n) => gw.gql(`query ${n} { __typename }`)));
        for (const a of answers) expect(a).toEqual({ data: { __typename: 'Query' } });
      }
      const res = await fetch(gw.url.replace('/graphql', '/metrics'), { headers: { authorization: `Bearer ${scrapeToken}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      const series = text.split('\n').filter((l) => l.startsWith('gateway_graphql_operation_duration_seconds_count{'));
      expect(series).toHaveLength(101);
      const labels = series.map((l) => /name="([^"]*)"/.exec(l)?.[1] ?? '');
      expect(labels.filter((l) => l === 'other')).toHaveLength(1);
      expect(labels.filter((l) => l !== 'other').every((l) => /^Op\d+_x+$/.test(l) && l.length === 64)).toBe(true);
      expect(Number(series[labels.indexOf('other')]?.split(' ').at(-1))).toBe(150);
      expect(text.length).toBeLessThan(400_000);
    } finally {
      await gw.stop();
    }
  }, 120_000);
});
