import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/Authenticator.js';
import type { Caller } from '../../src/auth/Caller.js';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { requestTally, tallyDiff } from '../helpers/apiserverMetrics.js';
import { createNamespace, eventually, kubeClient, kubeconfigPath, testLogger } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { bystanderQuery, expectBystanderUnharmed, userToken, whileAttacking } from '../helpers/hostile.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/**
 * Hostile tenants against authorization (docs/security.md, "Authorization work
 * bounded" and "Sessions"): requests counted from the apiserver's own metrics.
 */
const haveUsers = existsSync(kubeconfigPath('alice'));
const admin = kubeClient('admin');
const suffix = randomBytes(3).toString('hex');
const SAR = 'POST authorization.k8s.io/subjectaccessreviews';
const TOKEN_REVIEW = 'POST authentication.k8s.io/tokenreviews';
const reviewGroups = { groups: ['authorization.k8s.io', 'authentication.k8s.io'] };

/** Access reviews and TokenReviews the apiserver answered while `run` ran (and its reviews finished). */
async function reviewsDuring<T>(run: () => Promise<T>, expected: { sar: number; tokenReview: number }) {
  const before = await requestTally(kubeconfigPath('admin'), reviewGroups);
  const result = await run();
  // Reviews the operation started may still be answered after its response: wait for the expected count, then
  // read once more, so that more than expected fails the test too.
  const counts = async () => {
    const diff = tallyDiff(before, await requestTally(kubeconfigPath('admin'), reviewGroups));
    return { sar: diff[SAR] ?? 0, tokenReview: diff[TOKEN_REVIEW] ?? 0 };
  };
  await eventually(async () => {
    const c = await counts();
    return c.sar >= expected.sar && c.tokenReview >= expected.tokenReview ? true : undefined;
  }, 20_000).catch(() => {}); // fewer than expected: the caller's exact assertion says how many
  return { result, counts: await counts() };
}

const NODES = 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }';
const pipelineIds = (namespaces: string[]) => namespaces.map((ns) => encodeGlobalID('Pipeline', `${ns}/p`));
const code = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.map((e) => e.extensions?.code);

async function post(url: string, token: string, query: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { errors?: { extensions?: Record<string, unknown> }[] },
  };
}

/** A ServiceAccount in `ns` that may read and watch PipelineResources there (and create them). */
async function serviceAccount(ns: string, name: string): Promise<void> {
  await admin.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name },
      rules: [{ apiGroups: ['tekton.dev'], resources: ['pipelineresources'], verbs: ['get', 'list', 'watch', 'create'] }],
    },
  });
  await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    },
  });
}

/** A fresh token of the ServiceAccount from the TokenRequest API (a JWT with its own credential id). */
async function requestToken(ns: string, name: string): Promise<string> {
  const res = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
  );
  return res.status.token;
}

describe.skipIf(!haveUsers)('hostile tenants: authorization work bounded', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Answers outlive the test (60 s), so bob's warm answers are never asked again and counts are mallory's alone.
    // The cost limit is raised: this file is about the review budget, not the cost estimate.
    gw = await startGateway({ auth: 'token', accessReviewTtlMs: 60_000, http: { query: { maxCost: 1_000_000_000 } } });
    // Both tokens known before anything is counted.
    await post(gw.url, userToken('bob'), bystanderQuery);
    await post(gw.url, userToken('mallory'), '{ resourceTypes { name } }');
  });
  afterAll(async () => gw?.stop());

  it("cuts mallory's nodes(ids) over 6,000 namespaces at 100 access reviews, with TOO_MANY_ACCESS_REVIEWS, bob unharmed", async () => {
    const namespaces = Array.from({ length: 6_000 }, (_, i) => `h${i}-${suffix}`);
    const { result, bystander } = await whileAttacking(gw, () =>
      reviewsDuring(() => gw.gql(NODES, { ids: pipelineIds(namespaces) }, userToken('mallory')), { sar: 100, tokenReview: 0 }),
    );
    expect(result.result.data).toBeNull();
    expect(code(result.result)).toEqual(['TOO_MANY_ACCESS_REVIEWS']);
    expect(result.counts).toEqual({ sar: 100, tokenReview: 0 });
    expectBystanderUnharmed(bystander);
  });

  it('charges only questions not already answered: 100 new, then 50 new of 150, then 101 new is one too many', async () => {
    const namespaces = Array.from({ length: 251 }, (_, i) => `k${i}-${suffix}`);
    const ask = (n: number) => () => gw.gql(NODES, { ids: pipelineIds(namespaces.slice(0, n)) }, userToken('mallory'));
    // Each id is null with FORBIDDEN at its index, told from the review the read made (no second question).
    const forbiddenAt = (n: number) => Array.from({ length: n }, (_, i) => ['FORBIDDEN', ['nodes', i]]);
    const codesAt = (r: { errors?: { path?: unknown[]; extensions?: Record<string, unknown> }[] }) =>
      (r.errors ?? [])
        .map((e) => [e.extensions?.code, e.path])
        .sort((a, b) => Number((a[1] as number[])[1]) - Number((b[1] as number[])[1]));
    const first = await reviewsDuring(ask(100), { sar: 100, tokenReview: 0 });
    expect(codesAt(first.result)).toEqual(forbiddenAt(100));
    expect(first.result.data.nodes).toEqual(Array(100).fill(null));
    expect(first.counts.sar).toBe(100);
    const second = await reviewsDuring(ask(150), { sar: 50, tokenReview: 0 });
    expect(codesAt(second.result)).toEqual(forbiddenAt(150));
    expect(second.counts.sar).toBe(50);
    const third = await reviewsDuring(ask(251), { sar: 100, tokenReview: 0 });
    expect(code(third.result)).toEqual(['TOO_MANY_ACCESS_REVIEWS']);
    expect(third.counts.sar).toBe(100);
  });

  it("lists across more namespaces than the budget: the namespaces a list filters are the cluster's, not the caller's", async () => {
    // More namespaces holding resources than one operation may review: a plain list must still answer.
    const many = await Promise.all(Array.from({ length: 101 }, () => createNamespace('wide')));
    try {
      await Promise.all(many.map(({ name }) => createObjects(name, [gitResource('r')])));
      await eventually(() => ([...gw.cache.kind('PipelineResource').list()].length >= 101 ? true : undefined));
      const r = await gw.gql('{ pipelineResources(first: 500) { edges { node { namespace } } } }', {}, userToken('alice'));
      expect(r.errors).toBeUndefined();
      const seen = new Set(r.data.pipelineResources.edges.map((e: { node: { namespace: string } }) => e.node.namespace));
      expect([...seen].filter((n) => n !== 'team-a')).toEqual([]);
    } finally {
      await Promise.all(many.map(({ remove }) => remove()));
    }
  }, 120_000);

  it('refuses invalid namespaces and names as BAD_USER_INPUT naming the argument, before any review', async () => {
    const mallory = userToken('mallory');
    const badIds = [
      ...Array.from({ length: 500 }, (_, i) => `Bad_${i}/p`),
      `${'a'.repeat(64)}/p`,
      '../../api/v1/secrets/p',
      'team-a/',
      `team-a/${'n'.repeat(254)}`,
      'no-slash',
    ].map((id) => encodeGlobalID('Pipeline', id));
    const { result, counts } = await reviewsDuring(
      async () => ({
        nodes: await gw.gql(NODES, { ids: badIds }, mallory),
        each: await Promise.all(
          badIds.slice(500).map((id) => gw.gql('query($id: ID!) { node(id: $id) { id } }', { id }, mallory)),
        ),
        entities: await gw.gql(
          'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
          {
            r: [
              { __typename: 'PipelineResource', namespace: 'Team_A', name: 'x' },
              { __typename: 'PipelineResource', namespace: 'team-a', name: 'X' },
              { __typename: 'PipelineResource', name: 'team-b' },
            ],
          },
          mallory,
        ),
        byArgs: await gw.gql('{ pipelineResource(namespace: "Team_A", name: "x") { name } }', {}, mallory),
        byName: await gw.gql(`{ pipelineResource(namespace: "team-a", name: "${'n'.repeat(254)}") { name } }`, {}, mallory),
        list: await gw.gql('{ pipelineResources(namespace: "-team") { totalCount } }', {}, mallory),
        graph: await gw.gql('{ resourceGraph(namespace: "a/b") { nodes { name } } }', {}, mallory),
      }),
      { sar: 0, tokenReview: 0 },
    );
    expect(counts).toEqual({ sar: 0, tokenReview: 0 });
    expect(result.nodes.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([['BAD_USER_INPUT', 'id']]);
    expect(result.each.map((r) => r.errors?.map((e) => [e.extensions?.code, e.extensions?.argument]))).toEqual(
      Array(5).fill([['BAD_USER_INPUT', 'id']]),
    );
    expect(result.entities.data?._entities).toEqual([null, null, null]);
    expect(result.entities.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([
      ['BAD_USER_INPUT', 'namespace'],
      ['BAD_USER_INPUT', 'name'],
      ['BAD_USER_INPUT', 'namespace'],
    ]);
    expect(result.byArgs.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([
      ['BAD_USER_INPUT', 'namespace'],
    ]);
    expect(result.byArgs.errors?.[0]?.message).toBe(
      'Invalid namespace "Team_A": a namespace is a DNS-1123 label (a-z, 0-9, "-"; at most 63 characters).',
    );
    expect(result.byName.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([['BAD_USER_INPUT', 'name']]);
    expect(code(result.list)).toEqual(['BAD_USER_INPUT']);
    expect(code(result.graph)).toEqual(['BAD_USER_INPUT']);
  });
});

describe.skipIf(!haveUsers)('hostile tenants: random tokens', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ auth: 'token' });
    await post(gw.url, userToken('bob'), bystanderQuery); // bob's token is known before the attack
  });
  afterAll(async () => gw?.stop());

  it('answers 2,000 random tokens with 20 TokenReviews (401) and then 429 RATE_LIMITED without one; bob unharmed', async () => {
    const tokens = Array.from({ length: 2_000 }, () => randomBytes(24).toString('base64url'));
    const { result, bystander } = await whileAttacking(gw, () =>
      reviewsDuring(
        async () => {
          const statuses: { status: number; code: unknown; retryAfter: string | null }[] = [];
          for (let i = 0; i < tokens.length; i += 50) {
            const batch = await Promise.all(tokens.slice(i, i + 50).map((t) => post(gw.url, t, '{ resourceTypes { name } }')));
            statuses.push(
              ...batch.map((r) => ({ status: r.status, code: r.body.errors?.[0]?.extensions?.code, retryAfter: r.retryAfter })),
            );
          }
          return statuses;
        },
        { sar: 0, tokenReview: 20 },
      ),
    );
    const tally: Record<string, number> = {};
    for (const s of result.result) tally[`${s.status} ${s.code}`] = (tally[`${s.status} ${s.code}`] ?? 0) + 1;
    expect(tally).toEqual({ '401 UNAUTHENTICATED': 20, '429 RATE_LIMITED': 1_980 });
    // Retry-After: the seconds left of the client's 60 s window, which began with the first failure.
    const waits = result.result.filter((s) => s.status === 429).map((s) => Number(s.retryAfter));
    expect(waits.every((w) => Number.isInteger(w) && w >= 1 && w <= 60)).toBe(true);
    // bob's token was known; his queries' reviews were answered before the attack (no new question).
    expect(result.counts.tokenReview).toBe(20);
    expectBystanderUnharmed(bystander);
  });

  it('closes a WebSocket whose connection_init brings an unknown token from that client with 4429', async () => {
    const sub = collect(gw.ws(randomBytes(24).toString('base64url')), 'subscription { pipelineResourceEvents { type } }');
    await eventually(() => sub.failure);
    expect((sub.failure as { code?: number }).code).toBe(4429);
  });
});

describe.skipIf(!haveUsers)('identity passed whole', () => {
  let gw: TestGateway;
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createNamespace('hostile-id');
    await serviceAccount(ns.name, 'scoped');
    gw = await startGateway({ auth: 'token', writeAs: 'impersonate', accessReviewTtlMs: 60_000 });
  });
  afterAll(async () => {
    await gw?.stop();
    await ns?.remove();
  });

  it("keeps a TokenRequest token's uid and extra, and passes them whole when impersonating", async () => {
    const token = await requestToken(ns.name, 'scoped');
    const authenticator = new Authenticator({ client: admin, logger: testLogger });
    const caller = (await authenticator.authenticate(token, 'test')) as Caller;
    expect(caller.username).toBe(`system:serviceaccount:${ns.name}:scoped`);
    expect(caller.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(caller.extra ?? {})).toContain('authentication.kubernetes.io/credential-id');
    const seen = await admin
      .impersonating(caller)
      .request<{ status: { userInfo: Omit<Caller, 'token'> } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
    expect(seen.status.userInfo).toEqual({
      username: caller.username,
      uid: caller.uid,
      groups: caller.groups,
      extra: caller.extra,
    });
  });

  it("reviews each token of one ServiceAccount as its own identity: another token's answers are not reused", async () => {
    const [first, second] = [await requestToken(ns.name, 'scoped'), await requestToken(ns.name, 'scoped')];
    const query = `{ pipelineResources(namespace: "${ns.name}") { totalCount } }`;
    // One review per identity: `list` in the namespace (it holds nothing yet, so nothing else is filtered).
    const a = await reviewsDuring(() => post(gw.url, first, query), { sar: 1, tokenReview: 1 });
    expect([a.result.status, a.result.body.errors]).toEqual([200, undefined]);
    expect(a.counts).toEqual({ sar: 1, tokenReview: 1 });
    const b = await reviewsDuring(() => post(gw.url, second, query), { sar: 1, tokenReview: 1 });
    expect([b.result.status, b.result.body.errors]).toEqual([200, undefined]);
    expect(b.counts).toEqual({ sar: 1, tokenReview: 1 });
    const again = await reviewsDuring(() => post(gw.url, first, query), { sar: 0, tokenReview: 0 });
    expect(again.counts).toEqual({ sar: 0, tokenReview: 0 });
  });

  it('writes as the ServiceAccount by impersonation, extras and all', async () => {
    const token = await requestToken(ns.name, 'scoped');
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query:
          'mutation($input: CreatePipelineResourceInput!) { createPipelineResource(input: $input) { __typename ... on Error { message } } }',
        variables: {
          input: { namespace: ns.name, name: 'by-sa', type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] },
        },
      }),
    });
    expect(((await res.json()) as { data: unknown }).data).toEqual({
      createPipelineResource: { __typename: 'CreatePipelineResourceSuccess' },
    });
  });
});

describe.skipIf(!haveUsers)('sessions end with their credentials', () => {
  let gw: TestGateway;
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createNamespace('hostile-session');
    await serviceAccount(ns.name, 'watcher');
    gw = await startGateway({ auth: 'token', subscriptions: { accessRecheckMs: 500 } });
  });
  afterAll(async () => {
    await gw?.stop();
    await ns?.remove();
  });

  it("closes a deleted ServiceAccount's WebSocket with 4401 and ends its SSE stream with UNAUTHENTICATED", async () => {
    const token = await requestToken(ns.name, 'watcher');
    const subscription = `subscription { pipelineResourceEvents(namespace: "${ns.name}") { type object { name } } }`;
    const ws = collect<{ pipelineResourceEvents: { type: string } }>(gw.ws(token), subscription);
    const abort = new AbortController();
    const sse = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: subscription }),
      signal: abort.signal,
    });
    expect(sse.status).toBe(200);
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    let ended = false;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      ended = true;
    })();
    // Both sessions are live: an object created now reaches both.
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount >= 2 ? true : undefined));
    await admin.request('POST', resourcePath(kinds.PipelineResource, ns.name), {
      body: {
        apiVersion: 'tekton.dev/v1alpha1',
        kind: 'PipelineResource',
        metadata: { name: 'live' },
        spec: { type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] },
      },
    });
    await eventually(() => (ws.received.length === 1 && text.includes('"ADDED"') ? true : undefined));

    await admin.request('DELETE', `/api/v1/namespaces/${ns.name}/serviceaccounts/watcher`);
    await eventually(() => ws.failure, 15_000);
    expect((ws.failure as { code?: number }).code).toBe(4401);
    await eventually(() => (ended ? true : undefined), 15_000);
    await reading;
    abort.abort();
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));
    expect(events.at(-1)).toEqual({
      errors: [{ message: 'Session ended: the token no longer authenticates.', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(text.trimEnd().endsWith('event: complete\ndata:')).toBe(true);
    // And over HTTP the token is refused at once: the session's review replaced the cached answer.
    expect((await post(gw.url, token, '{ resourceTypes { name } }')).status).toBe(401);
  });

  it('releases an SSE session at once when its reader goes away, without waiting for an event', async () => {
    await serviceAccount(ns.name, 'reader');
    const token = await requestToken(ns.name, 'reader');
    const reflector = gw.cache.kind('PipelineResource');
    const before = reflector.listenerCount;
    const abort = new AbortController();
    const sse = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `subscription { pipelineResourceEvents(namespace: "${ns.name}") { type } }` }),
      signal: abort.signal,
    });
    expect(sse.status).toBe(200);
    await eventually(() => (reflector.listenerCount === before + 1 ? true : undefined));
    abort.abort();
    await eventually(() => (reflector.listenerCount === before ? true : undefined));
  });
});
