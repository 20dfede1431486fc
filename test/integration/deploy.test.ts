import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath } from '../helpers/cluster.js';
import { ensureKustomize, kustomizeBuild, restPath } from '../helpers/kustomize.js';
import { freePort, writeKubeconfig } from '../helpers/net.js';

/**
 * deploy/: the kustomize base, the local overlay and the impersonation component, rendered
 * by a real kustomize (tools/kustomize) and checked against the real apiserver (server-side
 * apply, dry run); the gateway's RBAC is proved sufficient and least-privilege by
 * SubjectAccessReviews and by running the gateway as its ServiceAccount.
 */

const namespace = 'tekton-resources';
const gatewayName = 'tekton-resource-gateway';
const serviceAccountUser = `system:serviceaccount:${namespace}:${gatewayName}`;
const admin = kubeClient('admin');

type Obj = KubeObject & { spec?: any };
let base: Obj[];
let local: Obj[];

const find = (objects: Obj[], kind: string, name = gatewayName) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const deployment = (objects: Obj[]) => find(objects, 'Deployment') as Obj;
const gatewayContainer = (objects: Obj[]) => deployment(objects).spec.template.spec.containers[0];
const envOf = (objects: Obj[]): Record<string, string> =>
  Object.fromEntries(gatewayContainer(objects).env.map((e: { name: string; value: string }) => [e.name, e.value]));

/** Server-side apply as the admin; `dryRun` validates and admits without storing. */
async function apply(obj: Obj, dryRun: boolean): Promise<Obj> {
  return admin.request<Obj>('PATCH', restPath(obj), {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'test', force: true, ...(dryRun ? { dryRun: 'All' } : {}) },
  });
}

/** What Kubernetes answers when the gateway's ServiceAccount asks to do this. */
async function serviceAccountMay(attributes: Record<string, string>): Promise<boolean> {
  const review = await admin.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: serviceAccountUser,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          resourceAttributes: attributes,
        },
      },
    },
  );
  return review.status.allowed;
}

beforeAll(() => {
  ensureKustomize((line) => process.stderr.write(`${line}\n`));
  base = kustomizeBuild('deploy/base');
  local = kustomizeBuild('deploy/overlays/local');
  // The namespace exists for real (namespaced dry runs need it); it is not deleted afterwards:
  // without a namespace controller (the local control plane runs none) it would stay Terminating.
  const ns = find(base, 'Namespace', namespace);
  if (!ns) throw new Error('the base renders no Namespace');
  return apply(ns, false).then(() => undefined);
}, 600_000);

/** The gateway's ServiceAccount, ClusterRole and ClusterRoleBinding, applied for real once; deleted after the file. */
const realObjects: Obj[] = [];
let identity: Promise<void> | undefined;
const applyGatewayIdentity = () => {
  identity ??= (async () => {
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) {
      const obj = find(base, kind) as Obj;
      await apply(obj, false);
      realObjects.push(obj);
    }
    // The RBAC authorizer sees a new binding through its informers, a moment later.
    await eventually(async () =>
      (await serviceAccountMay({ verb: 'list', group: 'tekton.dev', resource: 'pipelineresources' })) ? true : undefined,
    );
  })();
  return identity;
};
afterAll(async () => {
  for (const obj of realObjects.reverse()) await admin.request('DELETE', restPath(obj)).catch(() => {});
});

describe('deploy/base', () => {
  it('renders the CRDs, the aggregated roles, the namespace, the gateway and its RBAC, PDB and Service', () => {
    expect(base.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/tekton-resource-gateway',
        'ClusterRole/tekton-resources-edit',
        'ClusterRole/tekton-resources-view',
        'ClusterRoleBinding/tekton-resource-gateway',
        'CustomResourceDefinition/pipelineresources.tekton.dev',
        'CustomResourceDefinition/resourcebindings.resources.tekton.dev',
        'Deployment/tekton-resource-gateway',
        'Namespace/tekton-resources',
        'PodDisruptionBudget/tekton-resource-gateway',
        'Service/tekton-resource-gateway',
        'ServiceAccount/tekton-resource-gateway',
      ].sort(),
    );
    // The shared files come through unchanged but for the part-of label.
    for (const file of [
      'deploy/crds/pipelineresources.tekton.dev.yaml',
      'deploy/crds/resourcebindings.resources.tekton.dev.yaml',
    ]) {
      const original = parse(readFileSync(file, 'utf8')) as Obj;
      expect(find(base, 'CustomResourceDefinition', original.metadata.name)?.spec).toEqual(original.spec);
    }
    for (const o of base) {
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe(gatewayName);
      const clusterScoped = ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind ?? '');
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(clusterScoped ? undefined : namespace);
    }
  });

  it('runs two hardened, probed replicas of the image, spread over nodes', () => {
    const d = deployment(base);
    const pod = d.spec.template.spec;
    const c = gatewayContainer(base);
    expect(d.spec.replicas).toBe(2);
    expect(pod.containers).toHaveLength(1);
    expect(c.image).toBe('tekton-resource-gateway:latest');
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 4000, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    // Prometheus finds the pods' metrics port by annotation; the Service does not carry it.
    expect(d.spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
      'prometheus.io/path': '/metrics',
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
    expect(pod.serviceAccountName).toBe(gatewayName);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(pod.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey)).toContain('kubernetes.io/hostname');
    // The kubelet waits for the preStop sleep and the gateway's own shutdown grace.
    const config = parseConfig([], envOf(base));
    const preStop = c.lifecycle.preStop.sleep.seconds;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + config.shutdownGraceMs / 1000);
  });

  it('sets only settings src/config.ts accepts, in token mode, caching only kinds the ClusterRole may list and watch', () => {
    const env = envOf(base);
    const config = parseConfig([], env);
    expect(config).toMatchObject({
      port: 4000,
      auth: 'token',
      writeAs: 'token',
      introspection: true,
      corsOrigins: [],
      logLevel: 'info',
      shutdownGraceMs: 10_000,
      namespaces: [],
    });
    expect(Number(env.PORT)).toBe(gatewayContainer(base).ports[0].containerPort);
    expect([config.metricsPort, config.metricsToken, config.metricsOperationNames]).toEqual([9090, undefined, 100]);
    expect(config.metricsPort).toBe(gatewayContainer(base).ports[1].containerPort);
    const rules = (find(base, 'ClusterRole') as Obj).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const kind of config.cacheKinds) {
      const { group, plural } = kinds[kind];
      const rule = rules.find((r) => r.apiGroups.includes(group) && r.resources.includes(plural));
      expect(rule?.verbs.sort(), kind).toEqual(['list', 'watch']);
    }
  });

  it('serves port 80 as `http` to the pods port 4000, and keeps one of two replicas through disruptions', () => {
    const svc = find(base, 'Service') as Obj;
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }]);
    const podLabels = deployment(base).spec.template.metadata.labels;
    expect(podLabels).toMatchObject(svc.spec.selector);
    const pdb = find(base, 'PodDisruptionBudget') as Obj;
    expect(pdb.spec.minAvailable).toBe(1);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(deployment(base).spec.selector.matchLabels).toEqual(pdb.spec.selector.matchLabels);
  });
});

describe('deploy/overlays/local', () => {
  it('is the base with one replica, no PDB, IfNotPresent and debug logs', () => {
    const names = (objects: Obj[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names(local)).toEqual(names(base).filter((n) => n !== `PodDisruptionBudget/${gatewayName}`));
    expect(deployment(local).spec.replicas).toBe(1);
    const c = gatewayContainer(local);
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.image).toBe('tekton-resource-gateway:latest');
    expect(envOf(local)).toEqual({ ...envOf(base), LOG_LEVEL: 'debug' });
    expect(parseConfig([], envOf(local)).logLevel).toBe('debug');
    // Everything else is the base's.
    const { replicas: _r, ...localSpec } = deployment(local).spec;
    const { replicas: _b, ...baseSpec } = deployment(base).spec;
    const strip = (spec: any) => {
      const copy = structuredClone(spec);
      const container = copy.template.spec.containers[0];
      delete container.imagePullPolicy;
      delete container.env; // compared above
      return copy;
    };
    expect(strip(localSpec)).toEqual(strip(baseSpec));
  });
});

describe('the rendered manifests on a real apiserver', () => {
  for (const [name, objects] of [
    ['deploy/base', () => base],
    ['deploy/overlays/local', () => local],
  ] as const) {
    it(`accepts every object of ${name} (server-side apply, dry run)`, async () => {
      const refused: string[] = [];
      for (const obj of objects()) {
        try {
          const answer = await apply(obj, true);
          expect(answer.metadata.name).toBe(obj.metadata.name);
        } catch (err) {
          refused.push(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
        }
      }
      expect(refused).toEqual([]);
    });
  }

  it("admits the gateway's pod under the namespace's `restricted` Pod Security level, and not a weaker one", async () => {
    await applyGatewayIdentity(); // the ServiceAccount must exist for a pod to name it
    const template = deployment(base).spec.template;
    const pod = (spec: any) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pod-security-check', namespace, labels: template.metadata.labels },
      spec,
    });
    const createDry = (body: unknown) =>
      admin.request<Obj>('POST', `/api/v1/namespaces/${namespace}/pods`, { body, query: { dryRun: 'All' } });

    const admitted = await createDry(pod(template.spec));
    expect(admitted.spec.containers[0].securityContext.runAsNonRoot).toBe(true);

    // The check is live: the same pod without its securityContexts is refused.
    const weaker = structuredClone(template.spec);
    delete weaker.securityContext;
    delete weaker.containers[0].securityContext;
    const refusal = await createDry(pod(weaker)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(KubeApiError);
    expect((refusal as KubeApiError).status).toBe(403);
    expect((refusal as KubeApiError).message).toContain('violates PodSecurity "restricted:latest"');
  });

  it("gives the gateway's ServiceAccount exactly list/watch on the cached kinds and the two reviews", async () => {
    await applyGatewayIdentity();
    const cached = parseConfig([], envOf(base)).cacheKinds.map((k) => kinds[k]);
    const allowed: Record<string, string>[] = [
      ...cached.flatMap((k) => ['list', 'watch'].map((verb) => ({ verb, group: k.group, resource: k.plural }))),
      ...cached.map((k) => ({ verb: 'list', group: k.group, resource: k.plural, namespace: 'team-a' })),
      { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' },
      { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' },
    ];
    const denied: Record<string, string>[] = [
      { verb: 'get', group: '', resource: 'secrets', namespace: 'team-a' },
      { verb: 'list', group: '', resource: 'secrets' },
      { verb: 'watch', group: '', resource: 'secrets' },
      { verb: 'get', group: 'tekton.dev', resource: 'pipelineresources', namespace: 'team-a' },
      ...['create', 'update', 'patch', 'delete', 'deletecollection'].flatMap((verb) => [
        { verb, group: 'tekton.dev', resource: 'pipelineresources', namespace: 'team-a' },
        { verb, group: 'resources.tekton.dev', resource: 'resourcebindings', namespace: 'team-a' },
        { verb, group: 'tekton.dev', resource: 'pipelineruns', namespace: 'team-a' },
      ]),
      { verb: 'list', group: 'tekton.dev', resource: 'tasks' },
      { verb: 'list', group: 'tekton.dev', resource: 'taskruns' },
      { verb: 'list', group: '', resource: 'namespaces' },
      { verb: 'impersonate', group: '', resource: 'users' },
      { verb: 'impersonate', group: '', resource: 'groups' },
      { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: 'team-a' },
      { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids' },
      {
        verb: 'impersonate',
        group: 'authentication.k8s.io',
        resource: 'userextras',
        subresource: 'authentication.kubernetes.io/credential-id',
      },
      { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: 'team-a' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    ];
    const wrong: string[] = [];
    for (const [expected, list] of [
      [true, allowed],
      [false, denied],
    ] as const) {
      for (const a of list) {
        if ((await serviceAccountMay(a)) !== expected) wrong.push(`${expected ? 'denied' : 'allowed'}: ${JSON.stringify(a)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('is enough for the gateway: as its ServiceAccount it syncs, and serves callers as themselves', async () => {
    await applyGatewayIdentity();
    await withGatewayProcess(envOf(base), async ({ gql, output, metricsUrl, url }) => {
      expect((await gql('{ pipelineResources(first: 1) { totalCount } }')).status).toBe(401);
      // Metrics on the metrics port only (which the Service does not expose); the main port has none.
      expect((await fetch(metricsUrl)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      // A read from the cache, checked with a TokenReview and a SubjectAccessReview.
      const read = await gql('{ pipelineResources(namespace: "team-a", first: 1) { totalCount } }', 'alice');
      expect(read.body.errors).toBeUndefined();
      // As many as the apiserver holds there (the gateway process had synced: it answered alice from its cache).
      const stored = await admin.request<KubeList>('GET', resourcePath(kinds.PipelineResource, 'team-a'));
      expect(read.body.data.pipelineResources.totalCount).toBe(stored.items.length);
      // A write goes as the caller (the ServiceAccount may not create): alice may, mallory may not.
      expect(await createAs('alice', gql)).toBe('CreatePipelineResourceSuccess');
      expect(await createAs('mallory', gql)).toBe('ForbiddenError');
      expect(refusedWatches(output())).toEqual([]);
    });
  });
});

describe('deploy/components/impersonate', () => {
  let withComponent: Obj[];
  beforeAll(() => {
    // An overlay of base + component, as a user would write it (kustomize wants relative paths).
    const dir = mkdtempSync(join(tmpdir(), 'deploy-impersonate-'));
    const rel = (p: string) => relative(dir, resolve(p));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `resources: [${rel('deploy/base')}]\ncomponents: [${rel('deploy/components/impersonate')}]\n`,
    );
    try {
      withComponent = kustomizeBuild(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds only the impersonation role and WRITE_AS=impersonate to the base, and the apiserver accepts it', async () => {
    const names = (objects: Obj[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names(withComponent)).toEqual(
      [
        ...names(base),
        'ClusterRole/tekton-resource-gateway-impersonate',
        'ClusterRoleBinding/tekton-resource-gateway-impersonate',
      ].sort(),
    );
    expect(envOf(withComponent)).toEqual({ ...envOf(base), WRITE_AS: 'impersonate' });
    expect(parseConfig([], envOf(withComponent)).writeAs).toBe('impersonate');
    const binding = find(withComponent, 'ClusterRoleBinding', 'tekton-resource-gateway-impersonate') as Obj;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: gatewayName, namespace }]);
    for (const obj of withComponent) await apply(obj, true);
  });

  it('lets the gateway write by impersonating each caller, who keeps their own rights', async () => {
    await applyGatewayIdentity();
    const role = find(withComponent, 'ClusterRole', 'tekton-resource-gateway-impersonate') as Obj;
    const binding = find(withComponent, 'ClusterRoleBinding', 'tekton-resource-gateway-impersonate') as Obj;
    try {
      await apply(role, false);
      await apply(binding, false);
      await eventually(async () =>
        (await serviceAccountMay({ verb: 'impersonate', group: '', resource: 'users' })) ? true : undefined,
      );
      for (const a of [
        { verb: 'impersonate', group: '', resource: 'groups' },
        { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids' },
        // Impersonate-Extra-<key>: a ServiceAccount token's extras go with it; others' only when listed.
        ...['credential-id', 'pod-name', 'pod-uid', 'node-name', 'node-uid'].map((key) => ({
          verb: 'impersonate',
          group: 'authentication.k8s.io',
          resource: 'userextras',
          subresource: `authentication.kubernetes.io/${key}`,
        })),
      ]) {
        expect(await serviceAccountMay(a), JSON.stringify(a)).toBe(true);
      }
      expect(
        await serviceAccountMay({
          verb: 'impersonate',
          group: 'authentication.k8s.io',
          resource: 'userextras',
          subresource: 'scopes',
        }),
      ).toBe(false);
      await withGatewayProcess(envOf(withComponent), async ({ gql, output }) => {
        expect(refusedWatches(output())).toEqual([]);
        expect(await createAs('alice', gql)).toBe('CreatePipelineResourceSuccess');
        expect(await createAs('mallory', gql)).toBe('ForbiddenError');
      });
    } finally {
      // Removed at once: the tests above check that the base alone grants no impersonation.
      await admin.request('DELETE', restPath(binding)).catch(() => {});
      await admin.request('DELETE', restPath(role)).catch(() => {});
    }
  });
});

/** The cache's list/watch failures that were refusals (a transient failure, retried, is normal). */
const refusedWatches = (output: string) =>
  output.split('\n').filter((line) => line.includes('list/watch failed') && /forbidden|\b403\b/i.test(line));

type Gql = (query: string, user?: 'alice' | 'mallory') => Promise<{ status: number; body: { data?: any; errors?: unknown[] } }>;

/** A server-side dry-run create of a PipelineResource in team-a, through the gateway as `user`; the result's type. */
async function createAs(user: 'alice' | 'mallory', gql: Gql): Promise<string> {
  const { body } = await gql(
    `mutation {
      createPipelineResource(dryRun: true, input: {
        namespace: "team-a", name: "deploy-check", type: "git",
        params: [{ name: "url", value: "https://github.com/example/deploy-check.git" }]
      }) { __typename ... on Error { message } }
    }`,
    user,
  );
  return body.data?.createPipelineResource?.__typename ?? JSON.stringify(body);
}

/**
 * The real entry point (src/index.ts) with a Deployment's environment, authenticated as the
 * gateway's ServiceAccount (a TokenRequest token), until `check` is done; then SIGTERM, exit 0.
 * Flags name the cluster and the port, as in-cluster config and the pod's port would.
 */
async function withGatewayProcess(
  env: Record<string, string>,
  check: (g: { gql: Gql; output: () => string; metricsUrl: string; url: string }) => Promise<void>,
): Promise<void> {
  const { status } = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${gatewayName}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } },
  );
  const adminConfig = parse(readFileSync(kubeconfigPath('admin'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'deploy-sa-'));
  const kubeconfig = writeKubeconfig(dir, adminConfig.clusters[0].cluster, status.token);
  const tokens = Object.fromEntries(
    (['alice', 'mallory'] as const).map((u) => [
      u,
      (parse(readFileSync(kubeconfigPath(u), 'utf8')) as { users: { user: { token: string } }[] }).users[0]?.user.token,
    ]),
  );
  const port = await freePort();
  // The manifests' METRICS_PORT, moved to a free port (flags win over the environment).
  const metricsPort = await freePort();
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/index.ts',
        '--kubeconfig',
        kubeconfig,
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--metrics-port',
        String(metricsPort),
      ],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((done) => child?.once('exit', (code) => done(code)));
    const url = `http://127.0.0.1:${port}`;
    const readyz = () =>
      fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    await eventually(async () => ((await readyz()) === 200 ? true : undefined), 30_000).catch((err: unknown) => {
      throw new Error(`gateway not ready: ${output.slice(-2000)}`, { cause: err });
    });
    const gql: Gql = async (query, user) => {
      const token = user ? tokens[user] : undefined;
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
    };
    await check({ gql, output: () => output, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, url });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
