import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KindName, kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath, type TestUser } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';
import { createSecret } from '../helpers/secrets.js';

/**
 * Every user × operation × namespace is allowed exactly when Kubernetes RBAC
 * says so, asked of the apiserver itself (SubjectAccessReview), and nothing
 * leaks through the cache, a nested field, a subscription or an error.
 */
const users: TestUser[] = ['admin', 'alice', 'bob', 'mallory'];
const namespaces = ['team-a', 'team-b'];
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
      await createObjects(ns, [
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
      ]);
    }
    gw = await startGateway({ auth: 'token', accessReviewTtlMs: 200, subscriptions: { accessRecheckMs: 300 } });
    await eventually(() => (gw.cache.reflector('ResourceBinding').get('team-b', `m-bind-${suffix}`) ? true : undefined));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  for (const user of users) {
    for (const ns of namespaces) {
      it(`${user} in ${ns}: reads, writes and watches exactly what RBAC allows`, async () => {
        const t = token(user);
        const canList = await kubernetesAllows(user, 'list', 'PipelineResource', ns);
        const canGet = await kubernetesAllows(user, 'get', 'PipelineResource', ns);
        const canCreate = await kubernetesAllows(user, 'create', 'PipelineResource', ns);
        const canWatch = await kubernetesAllows(user, 'watch', 'PipelineResource', ns);
        const canListPipelines = await kubernetesAllows(user, 'list', 'Pipeline', ns);

        const list = await gw.gql(
          `{ pipelineResources(namespace: "${ns}") { edges { node { name secrets { secretName } } } } }`,
          {},
          t,
        );
        if (canList)
          expect(list.data.pipelineResources.edges.map((e: { node: { name: string } }) => e.node.name)).toContain(
            `m-repo-${suffix}`,
          );
        else expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

        const one = await gw.gql(`{ pipelineResource(namespace: "${ns}", name: "m-repo-${suffix}") { name } }`, {}, t);
        if (canGet) expect(one.data.pipelineResource).toEqual({ name: `m-repo-${suffix}` });
        else expect(one.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

        // A nested edge into another kind shows only what that kind allows.
        const cross = await gw.gql(
          `{ pipelineResources(search: "m-repo-${suffix}") { edges { node { namespace name pipelines { name } bindings { name } } } } }`,
          {},
          t,
        );
        const mine = cross.data.pipelineResources.edges
          .map((e: { node: unknown }) => e.node)
          .find((n: { namespace: string; name: string }) => n.namespace === ns && n.name === `m-repo-${suffix}`);
        if (!canList) expect(mine).toBeUndefined();
        else expect(mine.pipelines).toEqual(canListPipelines ? [{ name: `m-pipe-${suffix}` }] : []);

        const create = await gw.gql(
          'mutation($i: CreatePipelineResourceInput!) { createPipelineResource(input: $i, dryRun: true) { __typename ... on Error { message } } }',
          { i: { namespace: ns, name: `m-new-${suffix}`, type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] } },
          t,
        );
        expect(create.data.createPipelineResource.__typename).toBe(
          canCreate ? 'CreatePipelineResourceSuccess' : 'ForbiddenError',
        );

        const sub = collect(
          gw.ws(t),
          `subscription { pipelineResourceEvents(namespace: "${ns}", name: "m-repo-${suffix}") { type } }`,
        );
        if (canWatch) {
          await eventually(() => (gw.cache.reflector('PipelineResource').listenerCount > 0 ? true : undefined));
          await admin.request('PATCH', resourcePath(kinds.PipelineResource, ns, `m-repo-${suffix}`), {
            body: { metadata: { labels: { touched: user } } },
            contentType: 'application/merge-patch+json',
          });
          await eventually(() => (sub.received.length > 0 ? true : undefined));
        } else {
          await eventually(() => sub.failure);
          expect(JSON.stringify(sub.failure)).toContain('FORBIDDEN');
        }
        sub.dispose();
      });
    }
  }

  it('ends a subscription once the RoleBinding that allowed it is revoked', async () => {
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
    await eventually(async () => ((await kubernetesAllows('mallory', 'watch', 'PipelineResource', 'team-a')) ? true : undefined));
    await new Promise((r) => setTimeout(r, 300)); // the gateway reuses an access review's answer for 200 ms here
    const sub = collect(gw.ws(token('mallory')), 'subscription { pipelineResourceEvents(namespace: "team-a") { type } }');
    await eventually(() => (gw.cache.reflector('PipelineResource').listenerCount > 0 || sub.failure ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.failure).toBeUndefined();
    await admin.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/${rb}`);
    await eventually(() => sub.failure, 5_000);
    // The subscription ends with FORBIDDEN and its socket is closed with 4403, whichever the client sees first.
    const f = sub.failure as { code?: number };
    expect(f.code === 4403 || JSON.stringify(f).includes('FORBIDDEN')).toBe(true);
  });
});
