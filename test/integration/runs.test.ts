import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { metadataOnly } from '../../src/resources/asCaller.js';
import { createNamespace, eventually, kubeClient, kubeconfigPath } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, imageResource, pipeline } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;
const admin = kubeClient('admin');

/** Values of the test Secrets: none may ever appear in an answer. */
const secretValues = [
  'ghp-NEVER-SHOWN',
  'deployer-token-NEVER-SHOWN',
  'CA-NEVER-SHOWN',
  '{"gcs":"NEVER-SHOWN"}',
  'pw-NEVER-SHOWN',
];

const sha = (canonical: string) => `sha256:${createHash('sha256').update(canonical).digest('hex')}`;

const resource = (name: string, type: string, params: Record<string, string>, secrets: [string, string, string][] = []) => ({
  kind: 'PipelineResource' as const,
  name,
  body: {
    spec: {
      type,
      params: Object.entries(params).map(([n, value]) => ({ name: n, value })),
      ...(secrets.length
        ? { secrets: secrets.map(([fieldName, secretName, secretKey]) => ({ fieldName, secretName, secretKey })) }
        : {}),
    },
  },
});

/** A test pipeline that also declares `params` and `workspaces` of its own, after its slots'. */
const declaring = (
  p: ReturnType<typeof pipeline>,
  more: { params?: Record<string, unknown>[]; workspaces?: Record<string, unknown>[] },
) => ({
  ...p,
  body: {
    ...p.body,
    spec: { ...p.body.spec, params: [...p.body.spec.params, ...(more.params ?? [])], workspaces: more.workspaces ?? [] },
  },
});

const allSlots = {
  source: 'git',
  pr: 'pullRequest',
  image: 'image',
  target: 'cluster',
  bucket: 'storage',
  events: 'cloudEvent',
  settings: 'config',
  db: 'database',
};

const RUN = /* GraphQL */ `
  mutation($input: RunPipelineInput!, $dryRun: Boolean) {
    runPipeline(input: $input, dryRun: $dryRun) {
      __typename
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
      ... on NotFoundError { kind namespace name }
      ... on RunPipelineSuccess {
        dryRun
        yaml
        run {
          name
          pipelineName
          params { name value values properties { name value } }
          workspaces { name secretName configMapName items { key path } }
          resources { slot resourceName type resourceVersion paramsHash }
          inlineResources { slot type paramsHash }
        }
      }
    }
  }
`;
const run = async (input: Record<string, unknown>, dryRun = false, token?: string) => {
  const res = await gw.gql(RUN, { input: { namespace: ns, ...input }, dryRun }, token);
  expect(res.errors).toBeUndefined();
  for (const v of secretValues) expect(JSON.stringify(res)).not.toContain(v);
  return res.data.runPipeline;
};
const readRun = (name: string) => admin.request<KubeObject & { spec: any }>('GET', resourcePath(kinds.PipelineRun, ns, name));
const runsOf = async (pipelineName: string) =>
  (await admin.request<KubeList>('GET', resourcePath(kinds.PipelineRun, ns))).items.filter(
    (r) => (r.spec as { pipelineRef?: { name?: string } }).pipelineRef?.name === pipelineName,
  );
/** An object param's keys, as the graph lists them: in key order. */
const props = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

async function createCore(plural: 'secrets' | 'configmaps', name: string, data: Record<string, string>) {
  await admin.request('POST', `/api/v1/namespaces/${ns}/${plural}`, {
    body: {
      apiVersion: 'v1',
      kind: plural === 'secrets' ? 'Secret' : 'ConfigMap',
      metadata: { name },
      ...(plural === 'secrets' ? { stringData: data } : { data }),
    },
  });
}

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('runs'));
  await createCore('secrets', 'gh-token', { token: 'ghp-NEVER-SHOWN' });
  await createCore('secrets', 'deployer', { token: 'deployer-token-NEVER-SHOWN', 'ca.crt': 'CA-NEVER-SHOWN' });
  await createCore('secrets', 'gcs-key', { 'key.json': '{"gcs":"NEVER-SHOWN"}' });
  await createCore('secrets', 'db-creds', { user: 'app', password: 'pw-NEVER-SHOWN' });
  await createCore('configmaps', 'app-config', { 'app.yaml': 'a: 1', 'log.yaml': 'level: info' });
  await createObjects(ns, [
    resource('repo', 'git', { url: 'https://github.com/example/app.git', revision: 'main' }),
    resource('pr', 'pullRequest', { url: 'https://github.com/example/app/pull/7' }, [['authToken', 'gh-token', 'token']]),
    imageResource('img'),
    resource('cluster', 'cluster', { url: 'https://k8s.example.com:6443', name: 'prod', namespace: 'apps' }, [
      ['token', 'deployer', 'token'],
      ['cadata', 'deployer', 'ca.crt'],
    ]),
    resource('bucket', 'storage', { type: 'gcs', location: 'gs://reports/app' }, [
      ['GOOGLE_APPLICATION_CREDENTIALS', 'gcs-key', 'key.json'],
    ]),
    resource('events', 'cloudEvent', { targetURI: 'https://events.example.com/sink' }),
    resource('settings', 'config', { configMapName: 'app-config', keys: 'app.yaml' }),
    resource('db', 'database', { engine: 'postgres', host: 'db.example.com', port: '5432', database: 'app' }, [
      ['user', 'db-creds', 'user'],
      ['password', 'db-creds', 'password'],
    ]),
    resource('pr-no-secret', 'pullRequest', { url: 'https://github.com/example/app/pull/8' }, [
      ['authToken', 'no-such-secret', 'token'],
    ]),
    resource('settings-no-map', 'config', { configMapName: 'no-such-map' }),
    resource('settings-no-key', 'config', { configMapName: 'app-config', keys: 'app.yaml,nope.yaml' }),
    gitResource('app-repo', 'https://github.com/example/api.git'),
    declaring(pipeline('all-types', allSlots), { params: [{ name: 'tag', type: 'string', default: 'latest' }] }),
    declaring(pipeline('typed', { source: 'git' }), {
      params: [
        { name: 'greeting', type: 'string' },
        // No `enum`: Tekton admits it only with its alpha flag enable-param-enum (checked in test/unit/runInputs.test.ts).
        { name: 'mode', type: 'string', default: 'fast' },
        { name: 'flags', type: 'array' },
        { name: 'target', type: 'object', properties: { namespace: { type: 'string' }, port: { type: 'string' } } },
      ],
      workspaces: [
        { name: 'scratch' },
        { name: 'data' },
        { name: 'build' },
        { name: 'conf' },
        { name: 'creds' },
        { name: 'cache', optional: true },
      ],
    }),
    binding('typed', 'typed', { source: 'repo' }),
    binding('all-types', 'all-types', {
      source: 'repo',
      pr: 'pr',
      image: 'img',
      target: 'cluster',
      bucket: 'bucket',
      events: 'events',
      settings: 'settings',
      db: 'db',
    }),
    pipeline('partial', { source: 'git', image: 'image' }),
    binding('partial', 'partial', { source: 'repo' }),
    pipeline('mismatched', { source: 'git' }),
    binding('mismatched', 'mismatched', { source: 'img' }),
    pipeline('review', { pr: 'pullRequest' }),
    binding('review', 'review', { pr: 'pr' }),
    // Real Tekton runs `build`: its one task lasts an hour on the simulated node, so its runs stay unfinished.
    {
      kind: 'Task' as const,
      name: 'slow',
      body: {
        metadata: { annotations: { 'simulate.resources.tekton.dev/duration': '1h' } },
        spec: { steps: [{ name: 'wait', image: 'mirror.gcr.io/bash', script: 'sleep 3600' }] },
      },
    },
    pipeline('build', { source: 'git' }, [{ name: 'slow', taskRef: 'slow' }]),
    binding('build', 'build', { source: 'app-repo' }),
  ]);
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

describe('runPipeline resolves every built-in type', () => {
  const expectedParams = [
    {
      name: 'bucket',
      value: null,
      values: null,
      properties: props({ type: 'gcs', location: 'gs://reports/app', dir: '', artifactType: '' }),
    },
    {
      name: 'db',
      value: null,
      values: null,
      properties: props({ engine: 'postgres', host: 'db.example.com', port: '5432', database: 'app', sslMode: '' }),
    },
    { name: 'events', value: null, values: null, properties: props({ targetURI: 'https://events.example.com/sink' }) },
    { name: 'image', value: null, values: null, properties: props({ url: 'registry.example.com/img', digest: '' }) },
    {
      name: 'pr',
      value: null,
      values: null,
      properties: props({ url: 'https://github.com/example/app/pull/7', provider: '', 'insecure-skip-tls-verify': 'false' }),
    },
    { name: 'settings', value: null, values: null, properties: props({ configMapName: 'app-config', keys: 'app.yaml' }) },
    {
      name: 'source',
      value: null,
      values: null,
      properties: props({
        url: 'https://github.com/example/app.git',
        revision: 'main',
        refspec: '',
        submodules: 'true',
        depth: '1',
        sslVerify: 'true',
        httpProxy: '',
        httpsProxy: '',
        noProxy: '',
      }),
    },
    {
      name: 'target',
      value: null,
      values: null,
      properties: props({
        url: 'https://k8s.example.com:6443',
        name: 'prod',
        username: '',
        namespace: 'apps',
        insecure: 'false',
      }),
    },
    { name: 'tag', value: 'v1.2.3', values: null, properties: null },
  ];
  const expectedWorkspaces = [
    {
      name: 'bucket-GOOGLE_APPLICATION_CREDENTIALS',
      secretName: 'gcs-key',
      configMapName: null,
      items: [{ key: 'key.json', path: 'GOOGLE_APPLICATION_CREDENTIALS' }],
    },
    { name: 'db-user', secretName: 'db-creds', configMapName: null, items: [{ key: 'user', path: 'user' }] },
    { name: 'db-password', secretName: 'db-creds', configMapName: null, items: [{ key: 'password', path: 'password' }] },
    { name: 'pr-authToken', secretName: 'gh-token', configMapName: null, items: [{ key: 'token', path: 'authToken' }] },
    { name: 'settings-files', secretName: null, configMapName: 'app-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] },
    { name: 'target-token', secretName: 'deployer', configMapName: null, items: [{ key: 'token', path: 'token' }] },
    { name: 'target-cadata', secretName: 'deployer', configMapName: null, items: [{ key: 'ca.crt', path: 'cadata' }] },
  ];

  it('creates an ordinary v1 PipelineRun: an object param per slot, a workspace per secret and per ConfigMap', async () => {
    const out = await run({ pipeline: 'all-types', params: [{ name: 'tag', value: 'v1.2.3' }] });
    expect(out.__typename).toBe('RunPipelineSuccess');
    expect(out.dryRun).toBe(false);
    expect(out.run.name).toMatch(/^all-types-[a-z0-9]{5}$/);
    expect(out.run.pipelineName).toBe('all-types');
    expect(out.run.params).toEqual(expectedParams);
    expect(out.run.workspaces).toEqual(expectedWorkspaces);
    expect(out.run.resources.map((u: any) => [u.slot, u.resourceName, u.type])).toEqual([
      ['bucket', 'bucket', 'storage'],
      ['db', 'db', 'database'],
      ['events', 'events', 'cloudEvent'],
      ['image', 'img', 'image'],
      ['pr', 'pr', 'pullRequest'],
      ['settings', 'settings', 'config'],
      ['source', 'repo', 'git'],
      ['target', 'cluster', 'cluster'],
    ]);

    // As stored: exactly this spec, plus the defaults Tekton's webhook adds; nothing else invented.
    const stored = await readRun(out.run.name);
    expect(stored.apiVersion).toBe('tekton.dev/v1');
    expect(Object.keys(stored.spec).sort()).toEqual(['params', 'pipelineRef', 'taskRunTemplate', 'timeouts', 'workspaces']);
    expect(stored.spec.timeouts).toEqual({ pipeline: '1h0m0s' });
    expect(stored.spec.taskRunTemplate).toEqual({ serviceAccountName: 'default' });
    expect(stored.spec.pipelineRef).toEqual({ name: 'all-types' });
    expect(stored.spec.params[2]).toEqual({ name: 'events', value: { targetURI: 'https://events.example.com/sink' } });
    expect(stored.spec.params[8]).toEqual({ name: 'tag', value: 'v1.2.3' });
    expect(stored.spec.workspaces[3]).toEqual({
      name: 'pr-authToken',
      secret: { secretName: 'gh-token', items: [{ key: 'token', path: 'authToken' }] },
    });
    expect(stored.spec.workspaces[4]).toEqual({
      name: 'settings-files',
      configMap: { name: 'app-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] },
    });
    // Tekton's controller labels a run with its pipeline (once it reconciled it); the gateway adds no label.
    const { 'tekton.dev/pipeline': byTekton, ...labels } = stored.metadata.labels ?? {};
    expect(labels).toEqual({});
    expect([undefined, 'all-types']).toContain(byTekton);
    // Tekton's controller copies the Pipeline's annotations (its slots) onto the run; the gateway adds one.
    const annotations = Object.keys(stored.metadata.annotations ?? {}).sort();
    const fromPipeline = annotations.filter((a) => a.startsWith('slots.resources.tekton.dev/'));
    expect(annotations.filter((a) => !fromPipeline.includes(a))).toEqual(['resources.tekton.dev/resources']);
    expect([0, 8]).toContain(fromPipeline.length);
    // The YAML is the manifest that was sent: what was stored, less what Tekton added.
    const manifest = parse(out.yaml);
    expect(manifest.metadata).toEqual({
      generateName: 'all-types-',
      namespace: ns,
      annotations: { 'resources.tekton.dev/resources': stored.metadata.annotations?.['resources.tekton.dev/resources'] },
    });
    const { timeouts: _timeouts, taskRunTemplate: _taskRunTemplate, ...sentSpec } = stored.spec;
    expect(manifest.spec).toEqual(sentSpec);
  });

  it('mounts every key of the ConfigMap when the config resource names none', async () => {
    await createObjects(ns, [resource('all-keys', 'config', { configMapName: 'app-config' })]);
    const out = await run({ pipeline: 'all-types', overrides: [{ slot: 'settings', resource: 'all-keys' }] });
    expect(out.run.workspaces.find((w: any) => w.name === 'settings-files')).toEqual({
      name: 'settings-files',
      secretName: null,
      configMapName: 'app-config',
      items: [],
    });
  });

  it('dry run: returns the run and its YAML, creates nothing', async () => {
    const before = (await runsOf('all-types')).length;
    const out = await run({ pipeline: 'all-types', params: [{ name: 'tag', value: 'v1.2.3' }], generateName: 'try-' }, true);
    expect(out.__typename).toBe('RunPipelineSuccess');
    expect(out.dryRun).toBe(true);
    expect(out.run.params).toEqual(expectedParams);
    expect(out.run.workspaces).toEqual(expectedWorkspaces);
    const manifest = parse(out.yaml);
    expect(manifest.apiVersion).toBe('tekton.dev/v1');
    expect(manifest.kind).toBe('PipelineRun');
    expect(manifest.metadata.generateName).toBe('try-');
    expect(manifest.spec.params).toHaveLength(9);
    await expect(readRun(out.run.name)).rejects.toMatchObject({ status: 404 });
    expect(await runsOf('all-types')).toHaveLength(before);
  });

  it('records an inline spec as such: no name, no version, its params hash', async () => {
    const out = await run({
      pipeline: 'partial',
      overrides: [
        { slot: 'image', resourceSpec: { type: 'image', params: [{ name: 'url', value: 'registry.example.com/one-off' }] } },
      ],
    });
    expect(out.__typename).toBe('RunPipelineSuccess');
    expect(out.run.inlineResources).toEqual([
      { slot: 'image', type: 'image', paramsHash: sha('{"digest":"","url":"registry.example.com/one-off"}') },
    ]);
    expect(out.run.resources.map((u: any) => u.resourceName)).toEqual(['repo']);
    const stored = await readRun(out.run.name);
    expect(JSON.parse(stored.metadata.annotations?.['resources.tekton.dev/resources'] ?? '')[0]).toEqual({
      slot: 'image',
      inline: true,
      type: 'image',
      paramsHash: sha('{"digest":"","url":"registry.example.com/one-off"}'),
    });
  });
});

describe('runPipeline starts any real pipeline: params of every type, workspaces, timeouts, TaskRun template', () => {
  const typedInput = {
    pipeline: 'typed',
    params: [
      { name: 'greeting', value: 'yes' },
      { name: 'flags', values: ['-v', 'on', '1_000'] },
      {
        name: 'target',
        properties: [
          { name: 'namespace', value: 'no' },
          { name: 'port', value: '0b101' },
        ],
      },
    ],
    workspaces: [
      { name: 'scratch', emptyDir: {} },
      { name: 'data', persistentVolumeClaim: { claimName: 'shared-cache' }, subPath: 'runs' },
      { name: 'build', volumeClaimTemplate: { storage: '1Gi', accessModes: ['ReadWriteOnce'] } },
      { name: 'conf', configMap: { name: 'app-config', items: [{ key: 'log.yaml', path: 'log.yaml' }] } },
      { name: 'creds', secret: { secretName: 'deployer' } },
    ],
    timeouts: { pipeline: '1h', tasks: '45m', finally: '10m' },
    taskRunTemplate: { serviceAccountName: 'builder', nodeSelector: [{ key: 'kubernetes.io/os', value: 'linux' }] },
  };

  it('creates the run Tekton v1 reads, and YAML that a YAML 1.1 reader (kubectl) reads as the same object', async () => {
    const out = await run(typedInput);
    expect(out.__typename).toBe('RunPipelineSuccess');
    const stored = await readRun(out.run.name);
    expect(Object.keys(stored.spec).sort()).toEqual(['params', 'pipelineRef', 'taskRunTemplate', 'timeouts', 'workspaces']);
    expect(stored.spec.params.slice(1)).toEqual([
      { name: 'greeting', value: 'yes' },
      { name: 'flags', value: ['-v', 'on', '1_000'] },
      { name: 'target', value: { namespace: 'no', port: '0b101' } },
    ]);
    const claim = { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
    const written = [
      { name: 'scratch', emptyDir: {} },
      { name: 'data', subPath: 'runs', persistentVolumeClaim: { claimName: 'shared-cache' } },
      { name: 'build', volumeClaimTemplate: claim },
      { name: 'conf', configMap: { name: 'app-config', items: [{ key: 'log.yaml', path: 'log.yaml' }] } },
      { name: 'creds', secret: { secretName: 'deployer' } },
    ];
    // Tekton's webhook stores the claim template as a full PersistentVolumeClaim (empty metadata and status).
    expect(stored.spec.workspaces).toEqual(
      written.map((w) => (w.volumeClaimTemplate ? { ...w, volumeClaimTemplate: { metadata: {}, ...claim, status: {} } } : w)),
    );
    // As Tekton stores durations (Go's time.Duration form).
    expect(stored.spec.timeouts).toEqual({ pipeline: '1h0m0s', tasks: '45m0s', finally: '10m0s' });
    expect(stored.spec.taskRunTemplate).toEqual({
      serviceAccountName: 'builder',
      podTemplate: { nodeSelector: { 'kubernetes.io/os': 'linux' } },
    });
    expect(out.run.params.slice(1)).toEqual([
      { name: 'greeting', value: 'yes', values: null, properties: null },
      { name: 'flags', value: null, values: ['-v', 'on', '1_000'], properties: null },
      { name: 'target', value: null, values: null, properties: props({ namespace: 'no', port: '0b101' }) },
    ]);
    // The YAML is what the gateway wrote (before Tekton's defaulting): read as YAML 1.1, the same params and workspaces.
    const readBack = parse(out.yaml, { version: '1.1' }).spec;
    expect(readBack.params).toEqual(stored.spec.params);
    expect(readBack.workspaces).toEqual(written);
    expect(out.yaml).toContain('value: "yes"');
    // The graph reads back what it wrote.
    const read = await eventually(async () => {
      const res = await gw.gql(
        `query($ns: String!, $name: String!) { pipelineRun(namespace: $ns, name: $name) {
          workspaces { name source claimName subPath secretName configMapName } } }`,
        { ns, name: out.run.name },
      );
      return res.data?.pipelineRun ?? undefined;
    });
    expect(read.workspaces.slice(-5)).toEqual([
      { name: 'scratch', source: 'EMPTY_DIR', claimName: null, subPath: null, secretName: null, configMapName: null },
      {
        name: 'data',
        source: 'PERSISTENT_VOLUME_CLAIM',
        claimName: 'shared-cache',
        subPath: 'runs',
        secretName: null,
        configMapName: null,
      },
      { name: 'build', source: 'VOLUME_CLAIM_TEMPLATE', claimName: null, subPath: null, secretName: null, configMapName: null },
      { name: 'conf', source: 'CONFIG_MAP', claimName: null, subPath: null, secretName: null, configMapName: 'app-config' },
      { name: 'creds', source: 'SECRET', claimName: null, subPath: null, secretName: 'deployer', configMapName: null },
    ]);
  });

  it('refuses what does not fit the pipeline’s declarations, naming each field, and writes nothing', async () => {
    const before = (await runsOf('typed')).length;
    const out = await run({
      ...typedInput,
      params: [
        { name: 'greting', value: 'hi' },
        { name: 'flags', value: '-v' },
        { name: 'target', properties: [{ name: 'namespace', value: 'a' }] },
        { name: 'mode', values: ['fast'] },
      ],
      workspaces: [
        { name: 'scratch', emptyDir: {}, secret: { secretName: 'deployer' } },
        { name: 'source-x', emptyDir: {} },
      ],
      timeouts: { pipeline: '1h', tasks: '2h' },
      taskRunTemplate: { serviceAccountName: 'Builder' },
    });
    expect(out).toEqual({
      __typename: 'ValidationError',
      message: 'Invalid input: 13 problems',
      fieldErrors: [
        {
          path: 'input.params[0].name',
          message: 'pipeline typed declares no param "greting"; its params: greeting, mode, flags, target',
        },
        { path: 'input.params[1].value', message: '"flags" is an array param: give `values`' },
        { path: 'input.params[2].properties', message: '"target" needs keys "port"' },
        { path: 'input.params[3].values', message: '"mode" is a string param: give `value`' },
        { path: 'input.params', message: 'pipeline typed requires param "greeting" (string, no default)' },
        {
          path: 'input.workspaces[0]',
          message: 'give exactly one of `emptyDir`, `persistentVolumeClaim`, `volumeClaimTemplate`, `configMap`, `secret`',
        },
        {
          path: 'input.workspaces[1].name',
          message: 'pipeline typed declares no workspace "source-x"; its workspaces: scratch, data, build, conf, creds, cache',
        },
        { path: 'input.workspaces', message: 'pipeline typed requires workspace "data"' },
        { path: 'input.workspaces', message: 'pipeline typed requires workspace "build"' },
        { path: 'input.workspaces', message: 'pipeline typed requires workspace "conf"' },
        { path: 'input.workspaces', message: 'pipeline typed requires workspace "creds"' },
        { path: 'input.timeouts.tasks', message: 'must be within timeouts.pipeline (1h)' },
        { path: 'input.taskRunTemplate.serviceAccountName', message: 'must be a DNS-1123 name' },
      ],
    });
    expect(await runsOf('typed')).toHaveLength(before);
  });

  it('a Secret or ConfigMap a workspace binds must exist (the ConfigMap with the keys asked for)', async () => {
    const withSecret = await run({
      ...typedInput,
      workspaces: typedInput.workspaces.map((w) =>
        w.name === 'creds' ? { name: 'creds', secret: { secretName: 'absent' } } : w,
      ),
    });
    expect(withSecret).toEqual({
      __typename: 'NotFoundError',
      message: `Secret ${ns}/absent not found`,
      kind: 'Secret',
      namespace: ns,
      name: 'absent',
    });
    const withKey = await run({
      ...typedInput,
      workspaces: typedInput.workspaces.map((w) =>
        w.name === 'conf' ? { name: 'conf', configMap: { name: 'app-config', items: [{ key: 'nope.yaml', path: 'n' }] } } : w,
      ),
    });
    expect(withKey.fieldErrors).toEqual([
      { path: 'input.workspaces[3].configMap', message: 'ConfigMap app-config has no key "nope.yaml"' },
    ]);
  });
});

describe('runPipeline refuses, creating nothing', () => {
  afterAll(async () => {
    for (const p of ['mismatched', 'review']) expect(await runsOf(p)).toEqual([]);
  });

  it('a slot that is neither bound nor overridden', async () => {
    const before = (await runsOf('partial')).length;
    expect(await run({ pipeline: 'partial' })).toEqual({
      __typename: 'ValidationError',
      message:
        'Invalid input: slots.image slot "image" (image) is not bound and not overridden: bind a resource or give an override',
      fieldErrors: [
        {
          path: 'slots.image',
          message: 'slot "image" (image) is not bound and not overridden: bind a resource or give an override',
        },
      ],
    });
    expect(await runsOf('partial')).toHaveLength(before);
  });

  it('a resource whose type is not the slot’s, from an override or from the binding', async () => {
    const over = await run({
      pipeline: 'partial',
      overrides: [
        { slot: 'image', resource: 'img' },
        { slot: 'source', resource: 'img' },
      ],
    });
    expect(over.fieldErrors).toEqual([
      { path: 'input.overrides[1].resource', message: 'img is an image resource; slot "source" takes git' },
    ]);
    const bound = await run({ pipeline: 'mismatched' });
    expect(bound.fieldErrors).toEqual([{ path: 'slots.source', message: 'img is an image resource; slot "source" takes git' }]);
    const inline = await run({
      pipeline: 'mismatched',
      overrides: [{ slot: 'source', resourceSpec: { type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] } }],
    });
    expect(inline.fieldErrors).toEqual([
      { path: 'input.overrides[0].resourceSpec.type', message: 'the spec has type image; slot "source" takes git' },
    ]);
  });

  it('a required param that is missing', async () => {
    const out = await run({
      pipeline: 'mismatched',
      overrides: [{ slot: 'source', resourceSpec: { type: 'git', params: [{ name: 'revision', value: 'main' }] } }],
    });
    expect(out.fieldErrors).toEqual([
      { path: 'input.overrides[0].resourceSpec.params', message: 'type git requires param "url"' },
    ]);
  });

  it('reads Secrets by metadata only: the apiserver sends no values', async () => {
    const secret = await admin.request<Record<string, unknown>>('GET', `/api/v1/namespaces/${ns}/secrets/gh-token`, {
      accept: metadataOnly,
    });
    expect(secret.kind).toBe('PartialObjectMetadata');
    expect(Object.keys(secret).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(JSON.stringify(secret)).not.toContain(Buffer.from('ghp-NEVER-SHOWN').toString('base64'));
  });

  it('a Secret that does not exist', async () => {
    expect(await run({ pipeline: 'review', overrides: [{ slot: 'pr', resource: 'pr-no-secret' }] })).toEqual({
      __typename: 'NotFoundError',
      message: `Secret ${ns}/no-such-secret not found`,
      kind: 'Secret',
      namespace: ns,
      name: 'no-such-secret',
    });
  });

  it('a ConfigMap that does not exist, or lacks a key asked for', async () => {
    const before = (await runsOf('all-types')).length;
    expect(await run({ pipeline: 'all-types', overrides: [{ slot: 'settings', resource: 'settings-no-map' }] })).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'ConfigMap',
      name: 'no-such-map',
    });
    expect(
      (await run({ pipeline: 'all-types', overrides: [{ slot: 'settings', resource: 'settings-no-key' }] })).fieldErrors,
    ).toEqual([{ path: 'input.overrides[0].resource', message: 'ConfigMap app-config has no key "nope.yaml"' }]);
    expect(await runsOf('all-types')).toHaveLength(before);
  });

  it('a pipeline or resource that does not exist, a bad override, a param named like a slot', async () => {
    expect(await run({ pipeline: 'nope' })).toMatchObject({ __typename: 'NotFoundError', kind: 'Pipeline', name: 'nope' });
    expect(await run({ pipeline: 'review', overrides: [{ slot: 'pr', resource: 'gone' }] })).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'PipelineResource',
      name: 'gone',
    });
    const bad = await run({
      pipeline: 'review',
      overrides: [{ slot: 'prr', resource: 'pr' }],
      params: [{ name: 'pr', value: 'x' }],
    });
    expect(bad.fieldErrors).toEqual([
      { path: 'input.overrides[0].slot', message: 'the pipeline has no slot "prr"; its slots: pr' },
      { path: 'input.params[0].name', message: '"pr" is a slot: it receives the resource\'s params' },
    ]);
  });
});

describe('provenance', () => {
  const STALE = /* GraphQL */ `
    query($ns: String!, $changedParamsOnly: Boolean, $withinHours: Int) {
      pipelineResource(namespace: $ns, name: "app-repo") {
        resourceVersion
        runs { name }
        staleRuns(changedParamsOnly: $changedParamsOnly, withinHours: $withinHours) { name }
      }
    }
  `;
  const stale = async (vars: Record<string, unknown> = {}) =>
    (await gw.gql(STALE, { ns, ...vars })).data.pipelineResource as { resourceVersion: string; runs: any[]; staleRuns: any[] };
  const repoVersion = async () =>
    (await admin.request<KubeObject>('GET', resourcePath(kinds.PipelineResource, ns, 'app-repo'))).metadata.resourceVersion;
  const gitValues = (revision: string) =>
    `{"depth":"1","httpProxy":"","httpsProxy":"","noProxy":"","refspec":"","revision":"${revision}","sslVerify":"true","submodules":"true","url":"https://github.com/example/api.git"}`;

  it('records the version each run used; a change lists the older runs as stale and leaves them unchanged', async () => {
    const v1 = await repoVersion();
    const run1 = (await run({ pipeline: 'build' })).run;
    expect(run1.resources).toEqual([
      { slot: 'source', resourceName: 'app-repo', type: 'git', resourceVersion: v1, paramsHash: sha(gitValues('')) },
    ]);
    const run1Spec = (await readRun(run1.name)).spec;

    const update = await gw.gql(
      `mutation($input: UpdatePipelineResourceInput!) { updatePipelineResource(input: $input) { __typename ... on UpdatePipelineResourceSuccess { resource { resourceVersion } } } }`,
      {
        input: {
          namespace: ns,
          name: 'app-repo',
          resourceVersion: v1,
          params: [
            { name: 'url', value: 'https://github.com/example/api.git' },
            { name: 'revision', value: 'release-2' },
          ],
        },
      },
    );
    const v2 = update.data.updatePipelineResource.resource.resourceVersion;
    expect(v2).not.toBe(v1);
    const run2 = (await run({ pipeline: 'build' })).run;
    expect(run2.resources).toEqual([
      { slot: 'source', resourceName: 'app-repo', type: 'git', resourceVersion: v2, paramsHash: sha(gitValues('release-2')) },
    ]);

    const now = await eventually(async () => {
      const r = await stale();
      return r.resourceVersion === v2 && r.runs.length === 2 ? r : undefined;
    });
    expect(now.staleRuns).toEqual([{ name: run1.name }]);
    // The run is an object of its own: changing the resource did not touch it.
    const again = await readRun(run1.name);
    expect(again.spec).toEqual(run1Spec);
    expect(again.spec.params[0].value.revision).toBe('');

    // A label change is a new version too; only run 1 used other params.
    await admin.request('PATCH', resourcePath(kinds.PipelineResource, ns, 'app-repo'), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { touched: 'yes' } } },
    });
    const v3 = await repoVersion();
    const afterLabel = await eventually(async () => {
      const r = await stale();
      return r.resourceVersion === v3 ? r : undefined;
    });
    expect(afterLabel.staleRuns.map((r) => r.name).sort()).toEqual([run1.name, run2.name].sort());
    expect((await stale({ changedParamsOnly: true })).staleRuns).toEqual([{ name: run1.name }]);

    // Finished runs count within `withinHours`; unfinished ones always.
    await admin.request('PATCH', `${resourcePath(kinds.PipelineRun, ns, run1.name)}/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded', lastTransitionTime: new Date().toISOString() }],
        },
      },
    });
    const finished = await eventually(async () => {
      const r = await stale({ withinHours: 0 });
      return r.staleRuns.length === 1 ? r : undefined;
    });
    expect(finished.staleRuns).toEqual([{ name: run2.name }]);
    expect((await stale({ withinHours: 1 })).staleRuns.map((r) => r.name).sort()).toEqual([run1.name, run2.name].sort());
  });
});

const haveUsers = existsSync(kubeconfigPath('mallory'));

describe.skipIf(!haveUsers)('as the caller', () => {
  let tokenGw: TestGateway;
  const token = JSON.parse(readFileSync(haveUsers ? kubeconfigPath('mallory') : '/dev/null', 'utf8') || '{}').users?.[0]?.user
    ?.token as string;
  const rules = (withSecrets: boolean) => [
    { apiGroups: ['tekton.dev'], resources: ['pipelines', 'pipelineresources'], verbs: ['get'] },
    { apiGroups: ['tekton.dev'], resources: ['pipelineruns'], verbs: ['create'] },
    { apiGroups: ['resources.tekton.dev'], resources: ['resourcebindings'], verbs: ['list'] },
    ...(withSecrets ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] : []),
  ];

  beforeAll(async () => {
    tokenGw = await startGateway({ auth: 'token' });
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'runner' }, rules: rules(false) },
    });
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'mallory-runs' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'runner' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
      },
    });
  });

  afterAll(async () => {
    await tokenGw?.stop();
    // No namespace controller runs here, so the namespace outlives the file: mallory's rights in it must not.
    await admin.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/mallory-runs`);
  });

  it('checks Secrets with the caller’s rights, reading metadata only', async () => {
    const asMallory = async () => {
      const res = await tokenGw.gql(RUN, { input: { namespace: ns, pipeline: 'review' } }, token);
      for (const v of secretValues) expect(JSON.stringify(res)).not.toContain(v);
      return res.data.runPipeline;
    };
    const denied = await eventually(async () => {
      const out = await asMallory();
      return out.__typename === 'ForbiddenError' ? out : undefined;
    });
    expect(denied.message).toBe(`Not allowed to read Secret ${ns}/gh-token, which the run would use`);
    expect(await runsOf('review')).toEqual([]);

    await admin.request('PUT', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/runner`, {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'runner' }, rules: rules(true) },
    });
    const ok = await eventually(async () => {
      const out = await asMallory();
      return out.__typename === 'RunPipelineSuccess' ? out : undefined;
    });
    expect(ok.run.workspaces).toEqual([
      { name: 'pr-authToken', secretName: 'gh-token', configMapName: null, items: [{ key: 'token', path: 'authToken' }] },
    ]);
    await admin.request('DELETE', resourcePath(kinds.PipelineRun, ns, ok.run.name)).catch((err) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  });
});
