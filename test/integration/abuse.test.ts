import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/**
 * Hostile and broken input: the gateway answers each with a client error and
 * a stable code, never a 5xx or a stack trace, writes nothing, and keeps serving.
 */
let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('abuse'));
  await createObjects(ns, [gitResource('existing')]);
  // The property test sends thousands of operations: the per-user rate limit is tested on its own below.
  gw = await startGateway({ http: { rate: { burst: 1_000_000, perSecond: 1_000_000 } } });
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })(),
  };
}

function expectClean(r: { status: number; text: string }) {
  expect(r.status).toBeLessThan(500);
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

const codes = (r: { json?: { errors?: { extensions?: { code?: string } }[] } }) =>
  (r.json?.errors ?? []).map((e) => e.extensions?.code);

describe('hostile queries', () => {
  it.each([
    [
      'deep',
      `{ pipelineResources { edges { node { bindings { pipeline { bindings { pipeline { bindings { pipeline { bindings { pipeline { bindings { pipeline { name } } } } } } } } } } } } } }`,
    ],
    ['aliased', `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: resourceTypes { name }`).join(' ')} }`],
    ['huge', `{ ${Array.from({ length: 2000 }, () => '__typename').join(' ')} }`],
    ['costly', `{ pipelineResources(first: 500) { edges { node { pipelines { runs(limit: 500) { taskRuns { name } } } } } } }`],
    ['long', `{ ${Array.from({ length: 3001 }, () => '__typename').join(' ')} }`],
  ])('refuses a %s query before running it', async (name, query) => {
    const expected: Record<string, string> = {
      deep: 'QUERY_TOO_DEEP',
      aliased: 'TOO_MANY_ALIASES',
      // graphql-js gives up comparing 2,000 fields of one name (OverlappingFieldsCanBeMerged's guard).
      huge: 'GRAPHQL_VALIDATION_FAILED',
      costly: 'QUERY_TOO_COSTLY',
      long: 'GRAPHQL_PARSE_FAILED',
    };
    const r = await post(JSON.stringify({ query }));
    expectClean(r);
    expect(r.status).toBe(200);
    expect(r.json?.data).toBeUndefined();
    expect(codes(r)).toEqual([expected[name]]);
  });

  it('names the cost limit', async () => {
    const r = await post(
      JSON.stringify({
        query: '{ pipelineResources(first: 500) { edges { node { pipelines { runs(limit: 500) { name } } } } } }',
      }),
    );
    expect(codes(r)).toContain('QUERY_TOO_COSTLY');
  });

  it.each([
    ['malformed JSON', '{"query": "{ resourceTypes { name } "'],
    ['not an object', '[1,2,3]'],
    ['no query', '{}'],
    ['syntax error', JSON.stringify({ query: '{ resourceTypes { name ' })],
    ['unknown field', JSON.stringify({ query: '{ secrets { value } }' })],
    [
      'wrong variable type',
      JSON.stringify({ query: 'query($n: Int) { pipelineResources(first: $n) { totalCount } }', variables: { n: 'many' } }),
    ],
    ['batch', JSON.stringify([{ query: '{ resourceTypes { name } }' }, { query: '{ resourceTypes { name } }' }])],
  ])('answers %s with a client error', async (name, body) => {
    // yoga's answers: a request it cannot read is 400; a document it reads but refuses is 200 with the error's code.
    const expected: Record<string, [number, string | undefined]> = {
      'malformed JSON': [400, 'BAD_REQUEST'],
      'not an object': [400, 'BAD_REQUEST'],
      'no query': [200, 'BAD_REQUEST'],
      'syntax error': [200, 'GRAPHQL_PARSE_FAILED'],
      'unknown field': [200, 'GRAPHQL_VALIDATION_FAILED'],
      'wrong variable type': [400, undefined],
      batch: [400, 'BAD_REQUEST'],
    };
    const r = await post(body);
    expectClean(r);
    expect([r.status, ...codes(r)]).toEqual(expected[name]);
    expect(r.json?.data ?? undefined).toBeUndefined();
  });

  it('refuses an oversized body with 413, unread', async () => {
    const r = await post(JSON.stringify({ query: `{ resourceTypes { name } } #${'x'.repeat(300 * 1024)}` }));
    expect(r.status).toBe(413);
    expect(codes(r)).toEqual(['REQUEST_TOO_LARGE']);
  });

  it('refuses a GET without a CSRF-safe header (a cross-site form cannot send one)', async () => {
    const res = await fetch(`${gw.url}?query=${encodeURIComponent('{ resourceTypes { name } }')}`);
    expect(res.status).toBe(403);
    const ok = await fetch(`${gw.url}?query=${encodeURIComponent('{ resourceTypes { name } }')}`, {
      headers: { 'x-graphql-yoga-csrf': '1' },
    });
    expect(ok.status).toBe(200);
  });

  // Masking an unexpected error is tested in process (test/unit/inProcess.test.ts, "error masking").
  it('keeps serving after the hostile queries', async () => {
    const r = await post(JSON.stringify({ query: '{ resourceTypes { name } }' }));
    expect(r.status).toBe(200);
    expect(r.json.data.resourceTypes.length).toBe(8);
  });
});

describe('rate limit', () => {
  it('answers 429 with RATE_LIMITED past a caller’s burst, and lets them in again after', async () => {
    // One token every 4 s: a loaded machine cannot refill the bucket between the eight requests.
    const limited = await startGateway({ http: { rate: { burst: 5, perSecond: 0.25 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ resourceTypes { name } }' }),
        });
        statuses.push(res.status);
        if (res.status === 429) expect((await res.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
      }
      expect(statuses.filter((s) => s === 200).length).toBe(5);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      const again = await eventually(async () => {
        const r = await limited.gql('{ resourceTypes { name } }');
        return r.errors?.[0]?.extensions?.code === 'RATE_LIMITED' ? undefined : r;
      }, 10_000);
      expect(again.data.resourceTypes).toHaveLength(8);
    } finally {
      await limited.stop();
    }
  });
});

describe('rate limit before the operation is read', () => {
  it.each([
    ['anonymous', undefined],
    ['token', 'alice'],
  ] as const)(
    'counts every request of a known %s caller, malformed ones too, and refuses past the burst before parsing',
    async (auth, user) => {
      const limited = await startGateway({ auth, http: { rate: { burst: 3, perSecond: 0.25 } } });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...(user ? { authorization: `Bearer ${userToken(user)}` } : {}),
      };
      try {
        // The first request makes the caller known (a token is reviewed once, then cached): it spends one.
        const first = await fetch(limited.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: '{ resourceTypes { name } }' }),
        });
        expect(first.status).toBe(200);
        const answers: [number, string | undefined][] = [];
        for (let i = 0; i < 4; i++) {
          const res = await fetch(limited.url, { method: 'POST', headers, body: JSON.stringify({ query: '{ resourceTypes' }) });
          const body = (await res.json()) as { errors: { extensions?: { code?: string } }[] };
          answers.push([res.status, body.errors[0]?.extensions?.code]);
        }
        // Two malformed requests spend the burst's last two; the next two are refused unread.
        expect(answers).toEqual([
          [200, 'GRAPHQL_PARSE_FAILED'],
          [200, 'GRAPHQL_PARSE_FAILED'],
          [429, 'RATE_LIMITED'],
          [429, 'RATE_LIMITED'],
        ]);
      } finally {
        await limited.stop();
      }
    },
  );
});

describe('rate limit of subscription starts over SSE', () => {
  it("gives an SSE subscription's operation back: its start is charged as a start, and queries keep their budget", async () => {
    const limited = await startGateway({
      kinds: ['PipelineResource'],
      http: { rate: { burst: 2, perSecond: 0.001, subscribeBurst: 5, subscribePerSecond: 0.001 } },
    });
    const streams = new AbortController();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: 'subscription { pipelineResourceEvents { type } }' }),
          signal: streams.signal,
        });
        statuses.push(res.status);
      }
      const query = async () =>
        (
          await fetch(limited.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ __typename }' }),
          })
        ).status;
      statuses.push(await query(), await query(), await query());
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      streams.abort();
      await limited.stop();
    }
  });
});

describe('cost rate', () => {
  it("answers 429 with RATE_LIMITED once a caller's operations spent the cost burst, and still admits one costing nothing", async () => {
    // `pipelineResources(first: 100) { edges { node { name } } }` costs 1 + 100 × 2 = 201 (test/unit/queryLimits.test.ts).
    const limited = await startGateway({ http: { rate: { costBurst: 500, costPerSecond: 0.001 } } });
    try {
      const query = JSON.stringify({
        query: `{ pipelineResources(namespace: "${ns}", first: 100) { edges { node { name } } } }`,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(limited.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.headers.get('retry-after')).not.toBeNull();
          expect((await res.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
        } else await res.text();
      }
      // 500 buys two operations of 201; the third finds 98 left.
      expect(statuses).toEqual([200, 200, 429, 429]);
      // `{ __typename }` costs 0.
      expect((await limited.gql('{ __typename }')).data.__typename).toBe('Query');
    } finally {
      await limited.stop();
    }
  });
});

describe('random mutation input', () => {
  it('never fails with 5xx, a stack or an untyped error, and writes only what it accepted', async () => {
    const created = new Set<string>(['existing']);
    const name = fc.oneof(
      fc.constantFrom('ok-1', 'ok-2', 'existing', 'UPPER', '-x', 'a'.repeat(260), ''),
      fc.string({ maxLength: 20 }),
    );
    const param = fc.record({
      name: fc.oneof(
        fc.constantFrom('url', 'revision', 'digest', 'targetURI', 'type', 'location', 'x'),
        fc.string({ maxLength: 10 }),
      ),
      value: fc.oneof(fc.constantFrom('https://example.com/r.git', 'gs://b', 'gcs', ''), fc.string({ maxLength: 50 })),
    });
    const input = fc.record({
      namespace: fc.oneof(fc.constant(ns), fc.constantFrom('no-such-ns', 'Bad NS', '')),
      name,
      type: fc.oneof(fc.constantFrom('git', 'image', 'storage', 'cloudEvent', 'nope'), fc.string({ maxLength: 12 })),
      description: fc.option(fc.string({ maxLength: 1100 }), { nil: undefined }),
      params: fc.option(fc.array(param, { maxLength: 6 }), { nil: undefined }),
      secrets: fc.option(
        fc.array(
          fc.record({ fieldName: fc.string({ maxLength: 12 }), secretName: name, secretKey: fc.string({ maxLength: 12 }) }),
          { maxLength: 2 },
        ),
        { nil: undefined },
      ),
      labels: fc.option(
        fc.array(fc.record({ key: fc.string({ maxLength: 70 }), value: fc.string({ maxLength: 70 }) }), { maxLength: 3 }),
        { nil: undefined },
      ),
    });
    const typed = new Set(['CreatePipelineResourceSuccess', 'ValidationError', 'ConflictError', 'NotFoundError']);
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const r = await post(
          JSON.stringify({
            query:
              'mutation($i: CreatePipelineResourceInput!) { createPipelineResource(input: $i) { __typename ... on CreatePipelineResourceSuccess { resource { name } } } }',
            variables: { i },
          }),
        );
        expectClean(r);
        expect(r.json?.errors).toBeUndefined();
        const t = r.json.data.createPipelineResource.__typename;
        expect(typed.has(t)).toBe(true);
        if (t === 'CreatePipelineResourceSuccess') created.add(i.name);
      }),
      { numRuns: 2000, seed: 42 },
    );
    const list = await kubeClient('admin').request<KubeList>('GET', resourcePath(kinds.PipelineResource, ns));
    expect(new Set(list.items.map((o) => o.metadata.name))).toEqual(created);
  }, 300_000);
});
