import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { expectBystanderUnharmed, userToken, whileAttacking } from '../helpers/hostile.js';
import { secretValues } from '../helpers/secrets.js';

/**
 * Item 6 and 7 of issue 11: what a web page, a token-less neighbour or a
 * hostile input can do to a gateway. The local gateway is configured as local
 * mode runs it (anonymous, loopback Host only) with one allow-listed origin.
 */
let local: TestGateway;
let closed: TestGateway;
let ns: string;
let removeNs: () => Promise<void>;
const admin = kubeClient('admin');
const allowed = 'https://app.example';
const password = `p4ss-${randomBytes(8).toString('hex')}`;
secretValues.add(password); // every response the helpers see is scanned for it

beforeAll(async () => {
  ({ name: ns, remove: removeNs } = await createNamespace('exposure'));
  await admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
    body: {
      apiVersion: 'tekton.dev/v1alpha1',
      kind: 'PipelineResource',
      metadata: { name: 'prod' },
      // Legacy Tekton allowed secrets inline; the CRD still stores them.
      spec: {
        type: 'cluster',
        params: [
          { name: 'url', value: 'https://prod.example' },
          { name: 'Password', value: password },
          { name: 'token', value: '' },
        ],
      },
    },
  });
  local = await startGateway({ auth: 'anonymous', loopbackHostsOnly: true, http: { corsOrigins: [allowed] } });
  closed = await startGateway({ auth: 'token', http: { introspection: false } });
  await eventually(() => (local.cache.kind('PipelineResource').get(ns, 'prod') ? true : undefined));
});

afterAll(async () => {
  await local?.stop();
  await closed?.stop();
  await removeNs?.();
});

const port = (gw: TestGateway) => Number(new URL(gw.url).port);

/** A raw HTTP request, so `Host` and `Origin` are exactly what a browser would send. */
function raw(
  gw: TestGateway,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: port(gw),
        method: options.method ?? 'GET',
        path: options.path ?? '/graphql',
        headers: options.headers,
      },
      (res) => {
        const type = String(res.headers['content-type'] ?? '');
        if (type.includes('text/event-stream')) {
          // A stream that was accepted: its status is the answer.
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, type, body: '' });
        }
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a WebSocket to the gateway: `open` or the upgrade's refusal status. */
function upgrade(gw: TestGateway, headers: Record<string, string>): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(gw.url.replace('http', 'ws'), 'graphql-transport-ws', { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => {});
  });
}

const sse = (gw: TestGateway, headers: Record<string, string>) =>
  raw(gw, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query: `subscription { pipelineResourceEvents(namespace: "${ns}") { type } }` }),
  });

describe('a web page the developer opens', () => {
  it('cannot open a WebSocket from another origin; the same origin, an allowed one and non-browsers can', async () => {
    const self = `http://127.0.0.1:${port(local)}`;
    expect(await upgrade(local, { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(local, { Origin: 'null' })).toBe(403);
    expect(await upgrade(local, { Origin: `http://127.0.0.1:${port(local) + 1}` })).toBe(403);
    expect(await upgrade(local, { Origin: self })).toBe('open');
    expect(await upgrade(local, { Origin: allowed })).toBe('open');
    expect(await upgrade(local, {})).toBe('open');
  });

  it('cannot read an SSE stream from another origin; the same origin, an allowed one and non-browsers can', async () => {
    const refused = await sse(local, { Origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      errors: [
        {
          message: 'Streams are served to the same origin and the origins in --cors-origins only.',
          extensions: { code: 'ORIGIN_NOT_ALLOWED' },
        },
      ],
    });
    for (const headers of [{ Origin: `http://127.0.0.1:${port(local)}` }, { Origin: allowed }, {}] as Record<string, string>[]) {
      const accepted = await sse(local, headers);
      expect([accepted.status, accepted.type]).toEqual([200, expect.stringContaining('text/event-stream')]);
    }
  });

  it('cannot reach local mode through a rebound DNS name: a Host that is not loopback on this port gets 421', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${port(local)}`,
      `127.0.0.1:${port(local) + 1}`,
      `10.0.0.1:${port(local)}`,
    ]) {
      for (const path of ['/graphql?query=%7B__typename%7D', '/healthz', '/metrics']) {
        const res = await raw(local, { path, headers: { Host: host, 'x-graphql-yoga-csrf': '1' } });
        expect([host, path, res.status]).toEqual([host, path, 421]);
        expect(JSON.parse(res.body).errors[0].extensions).toEqual({ code: 'HOST_NOT_ALLOWED' });
      }
      expect(await upgrade(local, { Host: host })).toBe(421);
    }
    for (const host of [`127.0.0.1:${port(local)}`, `localhost:${port(local)}`, `LOCALHOST:${port(local)}`]) {
      const res = await raw(local, {
        path: '/graphql?query=%7B__typename%7D',
        headers: { Host: host, 'x-graphql-yoga-csrf': '1' },
      });
      expect([host, res.status, res.body]).toEqual([host, 200, '{"data":{"__typename":"Query"}}']);
    }
    // A gateway serving a named cluster is reached by any name (its callers carry tokens).
    expect((await raw(closed, { path: '/healthz', headers: { Host: 'gateway.example' } })).status).toBe(200);
  });
});

describe('anonymous local mode with a token', () => {
  const query = `{ pipelineResources(namespace: "${'NS'}") { totalCount } }`;
  const ask = (token?: string) => local.gql(query.replace('NS', ns), {}, token);

  it('acts as the token’s user: mallory is refused what anonymous (the local admin) reads', async () => {
    expect(await ask()).toEqual({ data: { pipelineResources: { totalCount: 1 } } });
    const mallory = await ask(userToken('mallory'));
    expect(mallory.data).toBeNull();
    expect(mallory.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(await ask(userToken('admin'))).toEqual({ data: { pipelineResources: { totalCount: 1 } } });
    // bob may view team-b only.
    expect(
      (await local.gql('{ pipelineResources(namespace: "team-b") { totalCount } }', {}, userToken('bob'))).errors,
    ).toBeUndefined();
    expect((await ask(userToken('bob'))).errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('refuses a bad token with 401 rather than serving it as anonymous', async () => {
    for (const authorization of ['Bearer not-a-token', 'Basic YTpi']) {
      const res = await fetch(local.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.status).toBe(401);
      expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('subscribes as the token’s user over WebSocket too', async () => {
    const sub = collect(local.ws(userToken('mallory')), `subscription { pipelineResourceEvents(namespace: "${ns}") { type } }`);
    await eventually(() => sub.failure);
    expect(JSON.stringify(sub.failure)).toContain('"code":"FORBIDDEN"');
    sub.dispose();
  });
});

describe('secret params', () => {
  const PARAMS = `{ pipelineResource(namespace: "NS", name: "prod") { params { name value secret set } } }`;

  it('are shown as set, never with their value', async () => {
    expect(await local.gql(PARAMS.replace('NS', ns))).toEqual({
      data: {
        pipelineResource: {
          params: [
            { name: 'url', value: 'https://prod.example', secret: false, set: true },
            { name: 'Password', value: null, secret: true, set: true },
            { name: 'token', value: null, secret: true, set: false },
          ],
        },
      },
    });
  });

  it('are never matched by search', async () => {
    const count = async (search: string) =>
      (
        await local.gql('query($ns: String, $s: String) { pipelineResources(namespace: $ns, search: $s) { totalCount } }', {
          ns,
          s: search,
        })
      ).data.pipelineResources.totalCount;
    expect(await count(password)).toBe(0);
    expect(await count(password.slice(0, 8))).toBe(0);
    expect(await count('prod.example')).toBe(1);
  });

  it('are never streamed in events', async () => {
    const sub = collect<{ pipelineResourceEvents: { type: string; object: { params: unknown[] } } }>(
      local.ws(),
      `subscription { pipelineResourceEvents(namespace: "${ns}", name: "prod") { type object { params { name value secret set } } } }`,
    );
    await eventually(() => (local.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
    const next = `n3w-${randomBytes(8).toString('hex')}`;
    secretValues.add(next);
    await admin.request('PATCH', resourcePath(kinds.PipelineResource, ns, 'prod'), {
      contentType: 'application/merge-patch+json',
      body: {
        spec: {
          type: 'cluster',
          params: [
            { name: 'url', value: 'https://prod.example' },
            { name: 'Password', value: next },
            { name: 'token', value: next },
          ],
        },
      },
    });
    await eventually(() => (sub.received.length > 0 || sub.failure ? true : undefined));
    expect(sub.failure).toBeUndefined(); // collect() fails on any frame that carries a secret value
    expect(sub.received[0]?.pipelineResourceEvents).toEqual({
      type: 'MODIFIED',
      object: {
        params: [
          { name: 'url', value: 'https://prod.example', secret: false, set: true },
          { name: 'Password', value: null, secret: true, set: true },
          { name: 'token', value: null, secret: true, set: true },
        ],
      },
    });
    sub.dispose();
  });
});

describe('with --introspection false', () => {
  it('refuses _service { sdl } as it refuses __schema, over HTTP and WebSocket', async () => {
    const token = userToken('alice');
    for (const query of ['{ _service { sdl } }', '{ __schema { queryType { name } } }']) {
      const res = await closed.gql(query, {}, token);
      expect(res.data).toBeUndefined();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTROSPECTION_DISABLED']);
      const sub = collect(closed.ws(token), query);
      await eventually(() => sub.failure);
      expect(JSON.stringify(sub.failure)).toContain('"code":"INTROSPECTION_DISABLED"');
    }
    expect(await closed.gql('{ __typename }', {}, token)).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('YAML inputs', () => {
  const MIGRATE = `mutation($yaml: String!, $ns: String) {
    migrateLegacyPipeline(yaml: $yaml, apply: true, namespace: $ns) { __typename ... on ValidationError { fieldErrors { path message } } }
  }`;
  const IMPORT = `mutation($yaml: String!, $ns: String) {
    importPipelineResources(yaml: $yaml, namespace: $ns) { __typename ... on ValidationError { fieldErrors { path message } } }
  }`;
  const laughs = [
    'apiVersion: tekton.dev/v1alpha1',
    'kind: PipelineResource',
    'metadata: {name: laughs}',
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'spec: {type: git, params: [{name: url, value: "https://x.example/r.git"}], f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]}',
  ].join('\n');
  const written = async () => {
    const counts: number[] = [];
    for (const kind of [kinds.PipelineResource, kinds.Pipeline, kinds.ResourceBinding]) {
      counts.push((await admin.request<{ items: unknown[] }>('GET', resourcePath(kind, ns))).items.length);
    }
    return counts;
  };

  it.each([
    ['aliases (billion laughs)', laughs, 'documents[0]: its aliases expand to more than 100 nodes'],
    ['nesting', `kind: PipelineResource\nspec: ${'['.repeat(40)}${']'.repeat(40)}`, 'documents[0]: nested deeper than 32 levels'],
    ['size', `# ${'x'.repeat(140_000)}\nkind: PipelineResource`, '140025 bytes; at most 131072'],
  ])('refuses %s with a ValidationError at `yaml`, writing nothing', async (_what, yaml, message) => {
    const before = await written();
    expect(before).toEqual([1, 0, 0]);
    for (const [mutation, field] of [
      [MIGRATE, 'migrateLegacyPipeline'],
      [IMPORT, 'importPipelineResources'],
    ] as const) {
      const res = await local.gql(mutation, { yaml, ns });
      expect(res.errors).toBeUndefined();
      expect(res.data[field]).toEqual({ __typename: 'ValidationError', fieldErrors: [{ path: 'yaml', message }] });
    }
    expect(await written()).toEqual([1, 0, 0]);
  });

  it('stops a slow parse at its time limit, off the event loop: bob keeps his answers', async () => {
    const gw = await startGateway({ auth: 'token', http: { yaml: { parseTimeoutMs: 300 } } });
    try {
      // ~120 KB of nested flow sequences, inside the size limit: seconds of parsing for the `yaml` package.
      const slow = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
      const { result, bystander } = await whileAttacking(gw, () =>
        Promise.all(Array.from({ length: 4 }, () => gw.gql(IMPORT, { yaml: slow, ns }, userToken('alice')))),
      );
      for (const res of result) {
        expect(res.data.importPipelineResources).toEqual({
          __typename: 'ValidationError',
          fieldErrors: [{ path: 'yaml', message: 'not read within 300 ms: split it or simplify its nesting' }],
        });
      }
      expectBystanderUnharmed(bystander);
      expect(await written()).toEqual([1, 0, 0]);
    } finally {
      await gw.stop();
    }
  });
});
