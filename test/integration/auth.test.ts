import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath, type TestUser } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';

// The local control plane's fixed users: alice edits team-a, bob views team-b, mallory has no rights.
const haveUsers = existsSync(kubeconfigPath('alice'));
const token = (user: TestUser): string => JSON.parse(readFileSync(kubeconfigPath(user), 'utf8')).users[0].user.token;

const CREATE = /* GraphQL */ `
  mutation($input: CreatePipelineResourceInput!) {
    createPipelineResource(input: $input) { __typename ... on Error { message } ... on ConflictError { current { name } } }
  }
`;
const suffix = randomBytes(3).toString('hex');
const image = (namespace: string, name: string) => ({
  namespace,
  name: `${name}-${suffix}`,
  type: 'image',
  params: [{ name: 'url', value: 'registry.example.com/app' }],
});

let gw: TestGateway;
const admin = kubeClient('admin');

describe.skipIf(!haveUsers)('token authentication and RBAC', () => {
  beforeAll(async () => {
    gw = await startGateway({ auth: 'token' });
    // Something in each team's namespace, written by the admin.
    for (const ns of ['team-a', 'team-b']) {
      await admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
        body: {
          apiVersion: 'tekton.dev/v1alpha1',
          kind: 'PipelineResource',
          metadata: { name: `seed-${suffix}` },
          spec: { type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] },
        },
      });
    }
    await eventually(() => (gw.cache.kind('PipelineResource').get('team-b', `seed-${suffix}`) ? true : undefined));
  });

  afterAll(async () => {
    await gw?.stop();
    for (const [ns, name] of [
      ['team-a', `seed-${suffix}`],
      ['team-b', `seed-${suffix}`],
      ['team-a', `alice-${suffix}`],
    ]) {
      await admin.request('DELETE', resourcePath(kinds.PipelineResource, ns, name)).catch(() => {});
    }
  });

  it('answers 401 without a token or with a bad one, and says nothing more', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }, { authorization: 'Basic YTpi' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ resourceTypes { name } }' }),
      });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.errors).toEqual([
        { message: 'Unauthorized: send a valid Kubernetes bearer token.', extensions: { code: 'UNAUTHENTICATED' } },
      ]);
      expect(body.data).toBeUndefined();
    }
  });

  it('answers 401 before the CSRF, Origin and body checks, on every method and transport', async () => {
    const query = encodeURIComponent('{ resourceTypes { name } }');
    const foreign = { origin: 'http://elsewhere.example' };
    const cases: [string, RequestInit][] = [
      ['GET, no CSRF header', { method: 'GET' }],
      ['GET SSE', { method: 'GET', headers: { accept: 'text/event-stream' } }],
      ['GET SSE from another origin', { method: 'GET', headers: { accept: 'text/event-stream', ...foreign } }],
      [
        'GET SSE from another origin, bad token',
        { method: 'GET', headers: { accept: 'text/event-stream', authorization: 'Bearer not-a-token', ...foreign } },
      ],
      ['POST form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${query}` }],
      [
        'POST multipart',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
          body: JSON.stringify({ query: '{ resourceTypes { name } }' }),
        },
      ],
      [
        'POST over the body limit',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(300 * 1024) },
      ],
    ];
    const answers: Record<string, unknown> = {};
    for (const [name, init] of cases) {
      const res = await fetch(`${gw.url}?query=${query}`, init);
      answers[name] = { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: await res.json() };
    }
    const refused = {
      status: 401,
      wwwAuthenticate: 'Bearer',
      body: {
        errors: [{ message: 'Unauthorized: send a valid Kubernetes bearer token.', extensions: { code: 'UNAUTHENTICATED' } }],
      },
    };
    expect(answers).toEqual(Object.fromEntries(cases.map(([name]) => [name, refused])));
  });

  it('closes a WebSocket without a valid token with 4401', async () => {
    const client = gw.ws('not-a-token');
    const sub = collect(client, 'subscription { pipelineResourceEvents(namespace: "team-a") { type } }');
    await eventually(() => sub.failure);
    expect((sub.failure as { code?: number }).code).toBe(4401);
  });

  it('writes as the caller: alice may create in team-a, not in team-b', async () => {
    const ok = await gw.gql(CREATE, { input: image('team-a', 'alice') }, token('alice'));
    expect(ok.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
    const created = await admin.request<{ metadata: { managedFields: { manager: string }[] } }>(
      'GET',
      resourcePath(kinds.PipelineResource, 'team-a', `alice-${suffix}`),
    );
    expect(created.metadata.managedFields.length).toBeGreaterThan(0);

    const denied = await gw.gql(CREATE, { input: image('team-b', 'alice') }, token('alice'));
    expect(denied.data.createPipelineResource).toEqual({
      __typename: 'ForbiddenError',
      message: 'Forbidden: Kubernetes RBAC does not allow this on PipelineResource in namespace team-b',
    });
    const viewer = await gw.gql(CREATE, { input: image('team-b', 'bob') }, token('bob'));
    expect(viewer.data.createPipelineResource.__typename).toBe('ForbiddenError');
  });

  it('impersonates the caller when configured: Kubernetes decides as alice, not as the gateway', async () => {
    const imp = await startGateway({ auth: 'token', writeAs: 'impersonate' });
    try {
      const ok = await imp.gql(CREATE, { input: { ...image('team-a', 'alice'), name: `imp-${suffix}` } }, token('alice'));
      expect(ok.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
      // The gateway's own identity (admin) could write team-b; impersonating alice it may not.
      const denied = await imp.gql(CREATE, { input: { ...image('team-b', 'alice'), name: `imp-${suffix}` } }, token('alice'));
      expect(denied.data.createPipelineResource.__typename).toBe('ForbiddenError');
    } finally {
      await imp.stop();
      await admin.request('DELETE', resourcePath(kinds.PipelineResource, 'team-a', `imp-${suffix}`)).catch(() => {});
    }
  });

  it('reads from the cache only what RBAC lets the caller list', async () => {
    const namespaces = async (user: TestUser) => {
      const res = await gw.gql('{ pipelineResources(first: 500) { edges { node { namespace } } } }', {}, token(user));
      expect(res.errors).toBeUndefined();
      return new Set(res.data.pipelineResources.edges.map((e: { node: { namespace: string } }) => e.node.namespace));
    };
    expect(await namespaces('alice')).toEqual(new Set(['team-a']));
    expect(await namespaces('bob')).toEqual(new Set(['team-b']));
    expect(await namespaces('mallory')).toEqual(new Set());
    const all = await gw.gql('{ pipelineResources(namespace: "team-b") { totalCount } }', {}, token('admin'));
    expect(all.data.pipelineResources.totalCount).toBeGreaterThan(0);
  });

  it("refuses a direct read or subscription outside the caller's rights", async () => {
    const read = await gw.gql(`{ pipelineResource(namespace: "team-b", name: "seed-${suffix}") { name } }`, {}, token('alice'));
    expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(read.data?.pipelineResource ?? null).toBeNull();
    const own = await gw.gql(`{ pipelineResource(namespace: "team-b", name: "seed-${suffix}") { name } }`, {}, token('bob'));
    expect(own.data.pipelineResource).toEqual({ name: `seed-${suffix}` });

    const sub = collect(gw.ws(token('alice')), 'subscription { pipelineResourceEvents(namespace: "team-b") { type } }');
    await eventually(() => sub.failure);
    expect(JSON.stringify(sub.failure)).toContain('FORBIDDEN');
    const everywhere = collect(gw.ws(token('mallory')), 'subscription { pipelineResourceEvents { type } }');
    await eventually(() => everywhere.failure);
    expect(JSON.stringify(everywhere.failure)).toContain('FORBIDDEN');
  });

  it('tells a caller without rights only that they are forbidden, not whether the name is taken', async () => {
    const res = await gw.gql(CREATE, { input: { ...image('team-b', 'seed'), name: `seed-${suffix}` } }, token('mallory'));
    expect(res.data.createPipelineResource.__typename).toBe('ForbiddenError');
  });
});
