import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { fakeApiserver, inProcessGateway } from '../helpers/inProcess.js';

/**
 * The gateway's yoga, in process (`yoga.fetch`, no server), over a Kubernetes API faked at the HTTP layer:
 * the rate limiter, the access-review cache, ObjectLoaders' batching and filtering, and error masking.
 */
const task = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'tekton.dev/v1',
  kind: 'Task',
  metadata: { namespace, name, resourceVersion: '1' },
  spec: { steps: [{ name: 'build' }] },
});
const tasksOf = (ns: string) => `/apis/tekton.dev/v1/namespaces/${ns}/tasks`;

let api: Awaited<ReturnType<typeof fakeApiserver>>;
beforeAll(async () => {
  api = await fakeApiserver({
    tokens: { 'alice-token': 'alice', 'bob-token': 'bob' },
    // alice may read tasks in team-a; bob nothing.
    allows: (user, _verb, resource, namespace) => user === 'alice' && resource === 'tasks' && namespace === 'team-a',
    objects: {
      [tasksOf('team-a')]: [task('team-a', 't1'), task('team-a', 't2')],
      [tasksOf('team-b')]: [task('team-b', 't3')],
    },
    raw: { [tasksOf('broken')]: { status: 200, body: '{"items": [' } },
  });
});
afterAll(() => api?.close());

const lists = (ns: string) => api.seen.filter((r) => r.method === 'GET' && r.path === tasksOf(ns)).length;
const reviews = (user: string) => api.seen.filter((r) => r.review?.user === user).length;

describe('ObjectLoaders', () => {
  it('reads two tasks of one namespace with one LIST and one access review', async () => {
    const gw = inProcessGateway(api.url);
    const before = { lists: lists('team-a'), reviews: reviews('alice') };
    const r = await gw.post(
      '{ a: task(namespace: "team-a", name: "t1") { name } b: task(namespace: "team-a", name: "t2") { name } }',
      'alice-token',
    );
    expect(r.body).toEqual({ data: { a: { name: 't1' }, b: { name: 't2' } } });
    expect(lists('team-a') - before.lists).toBe(1);
    expect(reviews('alice') - before.reviews).toBe(1);
  });

  it('refuses a namespace the caller may not read with FORBIDDEN, before any LIST', async () => {
    const gw = inProcessGateway(api.url);
    const before = lists('team-b');
    const r = await gw.post('{ task(namespace: "team-b", name: "t3") { name } }', 'alice-token');
    expect(r.body.data).toEqual({ task: null });
    expect(r.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['task']]]);
    expect(lists('team-b')).toBe(before);
  });

  it('refuses a name no object can have with BAD_USER_INPUT, before any review', async () => {
    const gw = inProcessGateway(api.url);
    const before = reviews('alice');
    const r = await gw.post('{ task(namespace: "team-a", name: "Not_A_Name") { name } }', 'alice-token');
    expect(r.body.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([['BAD_USER_INPUT', 'name']]);
    expect(reviews('alice')).toBe(before);
  });
});

describe('the access-review cache', () => {
  it('answers a repeated question from the cache across operations, per identity', async () => {
    const gw = inProcessGateway(api.url);
    const q = '{ task(namespace: "team-a", name: "t1") { name } }';
    const before = { alice: reviews('alice'), bob: reviews('bob') };
    expect((await gw.post(q, 'alice-token')).body).toEqual({ data: { task: { name: 't1' } } });
    expect((await gw.post(q, 'alice-token')).body).toEqual({ data: { task: { name: 't1' } } });
    expect(reviews('alice') - before.alice).toBe(1);
    // Another identity asks again, and is refused.
    const bob = await gw.post(q, 'bob-token');
    expect(bob.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(reviews('bob') - before.bob).toBe(1);
  });

  it('shares one review among concurrent identical questions', async () => {
    const gw = inProcessGateway(api.url);
    const before = reviews('alice');
    const q = '{ task(namespace: "team-a", name: "t2") { name } }';
    const answers = await Promise.all(Array.from({ length: 5 }, () => gw.post(q, 'alice-token')));
    expect(answers.map((a) => a.body)).toEqual(Array(5).fill({ data: { task: { name: 't2' } } }));
    expect(reviews('alice') - before).toBe(1);
  });
});

describe('the rate limiter', () => {
  it('answers 429 RATE_LIMITED with Retry-After past a caller’s burst, and leaves other callers alone', async () => {
    const gw = inProcessGateway(api.url, { http: { rate: { burst: 2, perSecond: 0.001 } } });
    const q = '{ resourceTypes { name } }';
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await gw.post(q, 'alice-token')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const res = await gw.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer alice-token' },
      body: JSON.stringify({ query: q }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1000');
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
      'RATE_LIMITED',
    );
    expect((await gw.post(q, 'bob-token')).status).toBe(200);
  });

  it('charges the estimated cost: an operation over the cost burst waits, a cheap one passes', async () => {
    const gw = inProcessGateway(api.url, { http: { rate: { costBurst: 10, costPerSecond: 0.001 } } });
    // resourceTypes with params costs 8 types × (1 + 9 params at most) = 80, over the burst of 10: it waits for a
    // full bucket and takes all of it, so a second one is refused.
    const costly = '{ resourceTypes { name params { name } } }';
    expect([(await gw.post(costly, 'alice-token')).status, (await gw.post(costly, 'alice-token')).status]).toEqual([200, 429]);
    expect((await gw.post('{ __typename }', 'bob-token')).body).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('the cost limit, with a real context', () => {
  it('runs an operation at the limit and refuses one past it with QUERY_TOO_COSTLY', async () => {
    // 1 + n × (edge 1 + node 1 + params 9): 111 for 10 resources, 122 for 11.
    const gw = inProcessGateway(api.url, { anonymous: true, http: { query: { maxCost: 111 } } });
    const page = (n: number) => `{ pipelineResources(first: ${n}) { edges { node { name type params { name } } } } }`;
    expect((await gw.post(page(10))).body).toEqual({ data: { pipelineResources: { edges: [] } } });
    const over = await gw.post(page(11));
    expect(over.body.errors?.map((e) => [e.extensions?.code, e.extensions?.cost])).toEqual([['QUERY_TOO_COSTLY', 122]]);
  });
});

describe('error masking', () => {
  it.each([true, false])(
    'masks an unexpected error (an apiserver answer that is not JSON) and keeps serving, compiled: %s',
    async (compiledExecution) => {
      const metrics = new GatewayMetrics();
      const gw = inProcessGateway(api.url, { anonymous: true, metrics, http: { compiledExecution } });
      const listsBefore = lists('broken');
      const r = await gw.post('{ tasks(namespace: "broken") { edges { node { name } } } }');
      expect((await metrics.compiledExecutions.get()).values[0]?.value ?? 0).toBe(compiledExecution ? 1 : 0);
      expect(r.body.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([
        ['Unexpected error.', 'INTERNAL_SERVER_ERROR'],
      ]);
      expect(JSON.stringify(r.body)).not.toMatch(/JSON|SyntaxError|\bat\b.*\.ts/);
      expect(lists('broken') - listsBefore).toBe(1);
      expect((await gw.post('{ resourceTypes { name } }')).body.data.resourceTypes).toHaveLength(8);
    },
  );
});
