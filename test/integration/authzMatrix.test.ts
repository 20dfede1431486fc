import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KindName, kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath, type TestUser } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';
import { createSecret } from '../helpers/secrets.js';

/**
 * Every user × namespace × operation gets the answer written down in `matrix`
 * below, derived by hand from the RBAC the test control plane grants
 * (tools/kube-testserver/main.go: admin is `system:masters`, alice has `edit`
 * in team-a, bob `view` in team-b, mallory nothing; the built-in roles cover
 * this project's kinds through deploy/rbac/aggregate-roles.yaml and Tekton's
 * through the Tekton release's own aggregated roles (src/local/LocalTekton.ts), so `edit` reads and writes all of
 * them and `view` reads them). Nothing leaks through the cache, a nested field,
 * a subscription or an error. The apiserver is asked only to check the table.
 */
type Namespace = 'team-a' | 'team-b';
interface Expected {
  /** `pipelineResources(namespace:)`: the namespace's resources, or FORBIDDEN. */
  list: 'resources' | 'FORBIDDEN';
  /** `pipelineResource(namespace:, name:)`: the resource, or FORBIDDEN. */
  get: 'resource' | 'FORBIDDEN';
  /**
   * `node(id:)` with the resource's global ID: the resource, or `null` with a FORBIDDEN error at `node` (whether or
   * not it exists, so an ID tells nothing; DESIGN.md section 3).
   */
  byId: 'resource' | 'FORBIDDEN';
  /**
   * The resource, found by a search over every namespace, with its nested edges into
   * Pipelines and ResourceBindings: `shown` with both, or `absent` from the answer.
   */
  nested: 'shown' | 'absent';
  /** `createPipelineResource(dryRun: true)`: its result's `__typename`. */
  create: 'CreatePipelineResourceSuccess' | 'ForbiddenError';
  /** `pipelineResourceEvents(namespace:, name:)`: an event for a change, or FORBIDDEN. */
  watch: 'event' | 'FORBIDDEN';
}

const all: Expected = {
  list: 'resources',
  get: 'resource',
  byId: 'resource',
  nested: 'shown',
  create: 'CreatePipelineResourceSuccess',
  watch: 'event',
};
const readOnly: Expected = { ...all, create: 'ForbiddenError' };
const none: Expected = {
  list: 'FORBIDDEN',
  get: 'FORBIDDEN',
  byId: 'FORBIDDEN',
  nested: 'absent',
  create: 'ForbiddenError',
  watch: 'FORBIDDEN',
};

const matrix: Record<TestUser, Record<Namespace, Expected>> = {
  admin: { 'team-a': all, 'team-b': all },
  alice: { 'team-a': all, 'team-b': none },
  bob: { 'team-a': none, 'team-b': readOnly },
  mallory: { 'team-a': none, 'team-b': none },
};

/** The Kubernetes verbs on each kind that the table's answers stand for, for checking the table against RBAC. */
const verbsBehind: Record<keyof Expected, [verb: string, kind: KindName][]> = {
  list: [['list', 'PipelineResource']],
  get: [['get', 'PipelineResource']],
  byId: [['get', 'PipelineResource']],
  nested: [
    ['list', 'PipelineResource'],
    ['list', 'Pipeline'],
    ['get', 'Pipeline'],
    ['list', 'ResourceBinding'],
  ],
  create: [['create', 'PipelineResource']],
  watch: [['watch', 'PipelineResource']],
};
const allowedAnswers = new Set(['resources', 'resource', 'shown', 'CreatePipelineResourceSuccess', 'event']);

const users = Object.keys(matrix) as TestUser[];
const namespaces: Namespace[] = ['team-a', 'team-b'];
const haveUsers = existsSync(kubeconfigPath('alice'));
const token = userToken;
const suffix = randomBytes(3).toString('hex');
const admin = kubeClient('admin');
let gw: TestGateway;
const identities = new Map<TestUser, { username: string; groups: string[] }>();

async function kubernetesAllows(user: TestUser, verb: string, kind: KindName, namespace: string): Promise<boolean> {
  const id = identities.get(user);
  const review = await admin.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: id?.username,
          groups: id?.groups,
          resourceAttributes: { verb, group: kinds[kind].group, resource: kinds[kind].plural, namespace },
        },
      },
    },
  );
  return review.status.allowed;
}

const created: { namespace: string; kind: KindName; name: string }[] = [];

describe.skipIf(!haveUsers)('authorization matrix', () => {
  beforeAll(async () => {
    for (const u of users) {
      const review = await admin.request<{ status: { user: { username: string; groups: string[] } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/tokenreviews',
        {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: token(u) } },
        },
      );
      identities.set(u, review.status.user);
    }
    for (const ns of namespaces) {
      await createSecret(ns, `creds-${suffix}`, ['token']);
      const objects = [
        {
          ...gitResource(`m-repo-${suffix}`),
          body: {
            spec: {
              type: 'git',
              params: [{ name: 'url', value: 'https://e.com/r.git' }],
              secrets: [{ fieldName: 'token', secretName: `creds-${suffix}`, secretKey: 'token' }],
            },
          },
        },
        pipeline(`m-pipe-${suffix}`, { source: 'git' }),
        binding(`m-bind-${suffix}`, `m-pipe-${suffix}`, { source: `m-repo-${suffix}` }),
      ];
      await createObjects(ns, objects);
      for (const o of objects) created.push({ namespace: ns, kind: o.kind, name: o.name });
    }
    gw = await startGateway({ auth: 'token', accessReviewTtlMs: 200, subscriptions: { accessRecheckMs: 300 } });
    await eventually(() => (gw.cache.kind('ResourceBinding').get('team-b', `m-bind-${suffix}`) ? true : undefined));
  });

  afterAll(async () => {
    await gw?.stop();
    for (const o of created) await admin.request('DELETE', resourcePath(kinds[o.kind], o.namespace, o.name)).catch(() => {});
    for (const ns of namespaces)
      await admin.request('DELETE', `/api/v1/namespaces/${ns}/secrets/creds-${suffix}`).catch(() => {});
  });

  it('the table agrees with the apiserver’s RBAC (a check of the table, not its source)', async () => {
    const disagreements: string[] = [];
    for (const user of users) {
      for (const ns of namespaces) {
        for (const [operation, answer] of Object.entries(matrix[user][ns]) as [keyof Expected, string][]) {
          for (const [verb, kind] of verbsBehind[operation]) {
            const allowed = await kubernetesAllows(user, verb, kind, ns);
            if (allowed !== allowedAnswers.has(answer))
              disagreements.push(`${user} ${verb} ${kind} in ${ns}: RBAC says ${allowed}, the table ${answer}`);
          }
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  for (const user of users) {
    for (const ns of namespaces) {
      const want = matrix[user][ns];
      it(`${user} in ${ns}: list ${want.list}, get ${want.get}, by id ${want.byId}, nested ${want.nested}, create ${want.create}, watch ${want.watch}`, async () => {
        const t = token(user);
        const other = ns === 'team-a' ? 'team-b' : 'team-a';

        const list = await gw.gql(
          `{ pipelineResources(namespace: "${ns}") { edges { node { namespace name secrets { secretName } } } } }`,
          {},
          t,
        );
        if (want.list === 'resources') {
          expect(list.errors).toBeUndefined();
          const nodes: { namespace: string; name: string; secrets: { secretName: string }[] }[] =
            list.data.pipelineResources.edges.map((e: { node: unknown }) => e.node);
          expect(nodes.find((r) => r.name === `m-repo-${suffix}`)).toEqual({
            namespace: ns,
            name: `m-repo-${suffix}`,
            secrets: [{ secretName: `creds-${suffix}` }],
          });
          expect(nodes.filter((r) => r.namespace !== ns)).toEqual([]);
        } else {
          expect(list.data).toBeNull();
          expect(list.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['pipelineResources']]]);
        }

        const one = await gw.gql(`{ pipelineResource(namespace: "${ns}", name: "m-repo-${suffix}") { namespace name } }`, {}, t);
        if (want.get === 'resource') {
          expect(one).toEqual({ data: { pipelineResource: { namespace: ns, name: `m-repo-${suffix}` } } });
        } else {
          expect(one.data?.pipelineResource ?? null).toBeNull();
          expect(one.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['pipelineResource']]]);
        }

        const id = encodeGlobalID('PipelineResource', `${ns}/m-repo-${suffix}`);
        const byId = await gw.gql('query($id: ID!) { node(id: $id) { ... on PipelineResource { namespace name } } }', { id }, t);
        if (want.byId === 'resource') {
          expect(byId).toEqual({ data: { node: { namespace: ns, name: `m-repo-${suffix}` } } });
        } else {
          expect(byId.data).toEqual({ node: null });
          expect(byId.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['node']]]);
        }

        // Across every namespace the caller may list; each nested edge into another kind shows only what that kind allows.
        const cross = await gw.gql(
          `{ pipelineResources(search: "m-repo-${suffix}") { edges { node { namespace name pipelines { namespace name } bindings { namespace name } } } } }`,
          {},
          t,
        );
        expect(cross.errors).toBeUndefined();
        const found: { namespace: string }[] = cross.data.pipelineResources.edges.map((e: { node: unknown }) => e.node);
        expect(found.filter((r) => r.namespace === ns)).toEqual(
          want.nested === 'shown'
            ? [
                {
                  namespace: ns,
                  name: `m-repo-${suffix}`,
                  pipelines: [{ namespace: ns, name: `m-pipe-${suffix}` }],
                  bindings: [{ namespace: ns, name: `m-bind-${suffix}` }],
                },
              ]
            : [],
        );
        expect(found.map((r) => r.namespace)).toEqual(
          [ns, other].sort().filter((n) => matrix[user][n as Namespace].nested === 'shown'),
        );

        const create = await gw.gql(
          'mutation($i: CreatePipelineResourceInput!) { createPipelineResource(input: $i, dryRun: true) { __typename ... on CreatePipelineResourceSuccess { resource { namespace name } } } }',
          { i: { namespace: ns, name: `m-new-${suffix}`, type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] } },
          t,
        );
        expect(create.errors).toBeUndefined();
        expect(create.data.createPipelineResource).toEqual(
          want.create === 'CreatePipelineResourceSuccess'
            ? { __typename: want.create, resource: { namespace: ns, name: `m-new-${suffix}` } }
            : { __typename: want.create },
        );

        const sub = collect<{ pipelineResourceEvents: { type: string; object: { namespace: string; name: string } } }>(
          gw.ws(t),
          `subscription { pipelineResourceEvents(namespace: "${ns}", name: "m-repo-${suffix}") { type object { namespace name } } }`,
        );
        if (want.watch === 'event') {
          await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
          await admin.request('PATCH', resourcePath(kinds.PipelineResource, ns, `m-repo-${suffix}`), {
            body: { metadata: { labels: { touched: user } } },
            contentType: 'application/merge-patch+json',
          });
          await eventually(() => (sub.received.length > 0 ? true : undefined));
          expect(sub.received[0]?.pipelineResourceEvents).toEqual({
            type: 'MODIFIED',
            object: { namespace: ns, name: `m-repo-${suffix}` },
          });
          expect(sub.failure).toBeUndefined();
        } else {
          await eventually(() => sub.failure);
          expect((sub.failure as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
          expect(sub.received).toEqual([]);
        }
        sub.dispose();
      });
    }
  }

  it('ends a subscription once the RoleBinding that allowed it is revoked', async () => {
    expect(matrix.mallory['team-a'].watch).toBe('FORBIDDEN');
    const rb = `mallory-view-${suffix}`;
    await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: rb },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
      },
    });
    // RBAC takes effect asynchronously in the apiserver: wait until it grants what the binding says.
    await eventually(async () => ((await kubernetesAllows('mallory', 'watch', 'PipelineResource', 'team-a')) ? true : undefined));
    // The gateway may still hold its earlier answer (FORBIDDEN) for its review cache's lifetime (200 ms here):
    // subscribe until a subscription is accepted, each refused one closed.
    const sub = await eventually(async () => {
      const attempt = collect<{ pipelineResourceEvents: { type: string; object: { name: string } | null } }>(
        gw.ws(token('mallory')),
        'subscription { pipelineResourceEvents(namespace: "team-a") { type object { name } } }',
      );
      await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 || attempt.failure ? true : undefined));
      if (attempt.failure === undefined) return attempt;
      attempt.dispose();
      return undefined;
    });
    // Accepted and alive: it gets the next change in team-a, and nothing went wrong on the way.
    await createObjects('team-a', [gitResource(`m-live-${suffix}`)]);
    await eventually(() =>
      sub.received.some((e) => e.pipelineResourceEvents.object?.name === `m-live-${suffix}`) ? true : undefined,
    );
    expect(sub.failure).toBeUndefined();
    // With the binding, mallory reads team-a as a viewer would.
    const read = await gw.gql(
      `{ pipelineResource(namespace: "team-a", name: "m-repo-${suffix}") { name } }`,
      {},
      token('mallory'),
    );
    expect(read).toEqual({ data: { pipelineResource: { name: `m-repo-${suffix}` } } });
    await admin.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/${rb}`);
    await eventually(() => sub.failure, 5_000);
    // The subscription ends with FORBIDDEN and its socket is closed with 4403, whichever the client sees first.
    const f = sub.failure as { code?: number };
    expect(f.code === 4403 || JSON.stringify(f).includes('FORBIDDEN')).toBe(true);
    // And reads are refused again, as the table says.
    await eventually(async () => {
      const again = await gw.gql(
        `{ pipelineResource(namespace: "team-a", name: "m-repo-${suffix}") { name } }`,
        {},
        token('mallory'),
      );
      return again.errors?.[0]?.extensions?.code === 'FORBIDDEN' ? true : undefined;
    });
  });
});
