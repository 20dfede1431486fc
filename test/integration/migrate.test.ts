import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import { type KindName, type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { createAllOrNothing } from '../../src/resources/importResources.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createObjects, gitResource } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let other: string;
const removals: (() => Promise<void>)[] = [];
const admin = kubeClient('admin');
const fixture = (name: string) => readFileSync(new URL(`../fixtures/legacy/${name}`, import.meta.url), 'utf8');
const read = (kind: KindName, name: string, namespace = ns) =>
  admin.request<KubeObject & { spec: any }>('GET', resourcePath(kinds[kind], namespace, name)).catch((err) => {
    if (err instanceof KubeApiError && err.status === 404) return null;
    throw err;
  });

const MIGRATE = /* GraphQL */ `
  mutation($yaml: String!, $apply: Boolean, $namespace: String) {
    migrateLegacyPipeline(yaml: $yaml, apply: $apply, namespace: $namespace) {
      __typename
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
      ... on MigrateLegacyPipelineSuccess {
        applied
        yaml
        objects { kind name namespace created yaml }
        changes { path message }
        notCarried { path message }
      }
    }
  }
`;
const migrate = async (yaml: string, apply = false, namespace: string | null = ns) => {
  const res = await gw.gql(MIGRATE, { yaml, apply, namespace });
  expect(res.errors).toBeUndefined();
  return res.data.migrateLegacyPipeline;
};

const IMPORT = /* GraphQL */ `
  mutation($yaml: String!, $dryRun: Boolean, $namespace: String) {
    importPipelineResources(yaml: $yaml, dryRun: $dryRun, namespace: $namespace) {
      __typename
      ... on Error { message }
      ... on ImportPipelineResourcesSuccess {
        applied
        dryRun
        documents {
          index
          name
          namespace
          status
          errors { path message }
          notes { path message }
          resource { name type params { name value } }
        }
      }
    }
  }
`;
const importResources = async (yaml: string, dryRun = false) => {
  const res = await gw.gql(IMPORT, { yaml, dryRun, namespace: ns });
  expect(res.errors).toBeUndefined();
  return res.data.importPipelineResources;
};

beforeAll(async () => {
  for (const prefix of ['migrate', 'migrate-other']) {
    const created = await createNamespace(prefix);
    removals.push(created.remove);
    if (prefix === 'migrate') ns = created.name;
    else other = created.name;
  }
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  for (const remove of removals) await remove();
});

describe('migrateLegacyPipeline', () => {
  it('migrates a git + image + cluster pipeline and its run, and creates it all with apply', async () => {
    const preview = await migrate(fixture('build-deploy.yaml'));
    expect(preview.__typename).toBe('MigrateLegacyPipelineSuccess');
    expect(preview.applied).toBe(false);
    expect(preview.objects.map((o: any) => [o.kind, o.name, o.namespace, o.created])).toEqual([
      ['PipelineResource', 'api-repo', ns, false],
      ['PipelineResource', 'api-image', ns, false],
      ['PipelineResource', 'staging-cluster', ns, false],
      ['Pipeline', 'build-deploy', ns, false],
      ['ResourceBinding', 'build-deploy', ns, false],
    ]);
    expect(parseAllDocuments(preview.yaml).map((d) => d.toJS().kind)).toEqual([
      'PipelineResource',
      'PipelineResource',
      'PipelineResource',
      'Pipeline',
      'ResourceBinding',
    ]);
    expect(preview.changes).toContainEqual({
      path: 'documents[0].spec.params[0].name',
      message: 'param "URL" is now "url" (names are exact now)',
    });
    expect(preview.notCarried).toContainEqual({
      path: 'documents[3].spec.tasks[0].resources.outputs[0]',
      message:
        'task "build": output "image" cannot write back into the resource (an image digest, say); emit a Task result instead',
    });
    expect(await read('Pipeline', 'build-deploy')).toBeNull();

    const applied = await migrate(fixture('build-deploy.yaml'), true);
    expect(applied.applied).toBe(true);
    expect(applied.objects.map((o: any) => o.created)).toEqual([true, true, true, true, true]);

    const pipeline = await read('Pipeline', 'build-deploy');
    expect(pipeline?.apiVersion).toBe('tekton.dev/v1');
    expect(pipeline?.metadata.annotations).toEqual({
      'slots.resources.tekton.dev/source': 'git',
      'slots.resources.tekton.dev/image': 'image',
      'slots.resources.tekton.dev/target': 'cluster',
    });
    expect(pipeline?.spec.resources).toBeUndefined();
    expect(pipeline?.spec.tasks[0].params[1]).toEqual({ name: 'source-url', value: '$(params.source.url)' });
    expect((await read('ResourceBinding', 'build-deploy'))?.spec).toEqual({
      pipelineRef: { name: 'build-deploy' },
      resources: [
        { name: 'source', resourceRef: { name: 'api-repo' } },
        { name: 'image', resourceRef: { name: 'api-image' } },
        { name: 'target', resourceRef: { name: 'staging-cluster' } },
      ],
    });
    expect((await read('PipelineResource', 'api-repo'))?.spec).toEqual({
      type: 'git',
      params: [
        { name: 'url', value: 'https://github.com/example/api.git' },
        { name: 'revision', value: 'main' },
      ],
    });
    expect((await read('PipelineResource', 'staging-cluster'))?.spec.secrets).toEqual([
      { fieldName: 'token', secretName: 'staging-deployer', secretKey: 'token' },
      { fieldName: 'cadata', secretName: 'staging-deployer', secretKey: 'ca.crt' },
    ]);

    // The migrated pipeline runs: its slots resolve through the new binding.
    const slots = await eventually(async () => {
      const r = await gw.gql(`{ pipeline(namespace: "${ns}", name: "build-deploy") { slots { name type resource { name } } } }`);
      const s = r.data?.pipeline?.slots;
      return s?.every((x: any) => x.resource) ? s : undefined;
    });
    expect(slots).toEqual([
      { name: 'image', type: 'image', resource: { name: 'api-image' } },
      { name: 'source', type: 'git', resource: { name: 'api-repo' } },
      { name: 'target', type: 'cluster', resource: { name: 'staging-cluster' } },
    ]);
    await admin.request('POST', `/api/v1/namespaces/${ns}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'staging-deployer' },
        stringData: { token: 't', 'ca.crt': 'c' },
      },
    });
    const run = await gw.gql(
      `mutation($input: RunPipelineInput!) { runPipeline(input: $input, dryRun: true) { __typename ... on RunPipelineSuccess { yaml } } }`,
      { input: { namespace: ns, pipeline: 'build-deploy', params: [{ name: 'dockerfile', value: 'build/Dockerfile' }] } },
    );
    expect(run.data.runPipeline.__typename).toBe('RunPipelineSuccess');
    expect(parse(run.data.runPipeline.yaml).spec.workspaces.map((w: any) => w.name)).toEqual(['target-token', 'target-cadata']);
  });

  it('turns `from` into runAfter; applying needs the resources the run named to exist, of the slot’s type', async () => {
    const missing = await migrate(fixture('test-and-publish.yaml'), true);
    expect(missing).toEqual({
      __typename: 'ValidationError',
      message: 'Invalid input: 2 problems',
      fieldErrors: [
        {
          path: 'documents[1].spec.resources[0].resourceRef.name',
          message: `PipelineResource service-repo does not exist in ${ns}`,
        },
        {
          path: 'documents[1].spec.resources[1].resourceRef.name',
          message: `PipelineResource test-reports does not exist in ${ns}`,
        },
      ],
    });
    expect(await read('Pipeline', 'test-and-publish')).toBeNull();

    await createObjects(ns, [gitResource('service-repo'), gitResource('test-reports')]);
    const wrongType = await migrate(fixture('test-and-publish.yaml'), true);
    expect(wrongType.fieldErrors).toEqual([
      {
        path: 'documents[1].spec.resources[1].resourceRef.name',
        message: 'test-reports is a git resource; slot "reports" takes storage',
      },
    ]);
    await admin.request('DELETE', resourcePath(kinds.PipelineResource, ns, 'test-reports'));
    await createObjects(ns, [
      {
        kind: 'PipelineResource',
        name: 'test-reports',
        body: {
          spec: {
            type: 'storage',
            params: [
              { name: 'type', value: 'gcs' },
              { name: 'location', value: 'gs://reports/service' },
            ],
          },
        },
      },
    ]);
    const applied = await migrate(fixture('test-and-publish.yaml'), true);
    expect(applied.applied).toBe(true);
    expect(applied.objects.map((o: any) => [o.kind, o.name])).toEqual([
      ['Pipeline', 'test-and-publish'],
      ['ResourceBinding', 'test-and-publish'],
    ]);
    const tasks = (await read('Pipeline', 'test-and-publish'))?.spec.tasks;
    expect(tasks.map((t: any) => [t.name, t.runAfter ?? []])).toEqual([
      ['unit-tests', []],
      ['lint', []],
      ['publish-reports', ['lint', 'unit-tests']],
    ]);
    expect(tasks[2].params).toEqual([
      { name: 'reports-type', value: '$(params.reports.type)' },
      { name: 'reports-location', value: '$(params.reports.location)' },
      { name: 'reports-dir', value: '$(params.reports.dir)' },
      { name: 'reports-artifactType', value: '$(params.reports.artifactType)' },
    ]);
  });

  it('migrates a PipelineRun with an inline pipelineSpec and inline resourceSpecs', async () => {
    const applied = await migrate(fixture('pr-check-inline.yaml'), true);
    expect(applied.applied).toBe(true);
    expect(applied.objects.map((o: any) => [o.kind, o.name])).toEqual([
      ['PipelineResource', 'pr-check-pr'],
      ['PipelineResource', 'pr-check-repo'],
      ['Pipeline', 'pr-check'],
      ['ResourceBinding', 'pr-check'],
    ]);
    expect(applied.notCarried).toContainEqual({
      path: 'documents[0].spec.resources[1].resourceSpec.params',
      message:
        "git resource without a revision: Tekton ≤ 0.45 checked out master; now an empty revision means the remote's default branch. Add revision: master to keep the old behaviour.",
    });
    expect((await read('PipelineResource', 'pr-check-pr'))?.spec).toEqual({
      type: 'pullRequest',
      params: [{ name: 'url', value: 'https://github.com/example/api/pull/42' }],
      secrets: [{ fieldName: 'authToken', secretName: 'github-token', secretKey: 'token' }],
    });
    expect((await read('PipelineResource', 'pr-check-repo'))?.spec.params).toEqual([
      { name: 'url', value: 'https://github.com/example/api.git' },
    ]);
    expect((await read('Pipeline', 'pr-check'))?.spec.workspaces).toEqual([
      {
        name: 'pr-authToken',
        description: 'Secret field authToken of slot "pr", as file authToken, when the resource has it.',
        optional: true,
      },
    ]);
  });

  it('applies what Tekton v1 admits: conditions dropped, ClusterTasks resolved, implicit params and workspaces declared', async () => {
    const legacy = `
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: hello-run}
spec:
  params: [{name: HELLO, value: "yes"}, {name: target, value: {namespace: "no", port: "0b101"}}]
  workspaces: [{name: shared-data, emptyDir: {}}]
  pipelineSpec:
    tasks:
      - name: check
        taskRef: {name: lint, kind: ClusterTask}
        conditions: [{conditionRef: is-main}]
      - name: echo
        runAfter: [check]
        workspaces: [{name: out, workspace: shared-data}]
        taskSpec: {steps: [{image: alpine, script: 'echo $(params.HELLO) $(params.target.namespace)'}]}
`;
    const out = await migrate(legacy, true);
    expect(out.applied).toBe(true);
    expect(out.objects.map((o: any) => [o.kind, o.name, o.created])).toEqual([['Pipeline', 'hello-run', true]]);
    const stored = await read('Pipeline', 'hello-run');
    expect(stored?.spec.params).toEqual([
      { name: 'HELLO', type: 'string', default: 'yes' },
      {
        name: 'target',
        type: 'object',
        properties: { namespace: { type: 'string' }, port: { type: 'string' } },
        default: { namespace: 'no', port: '0b101' },
      },
    ]);
    expect(stored?.spec.workspaces).toEqual([{ name: 'shared-data' }]);
    expect(stored?.spec.tasks[0]).toEqual({
      name: 'check',
      taskRef: {
        resolver: 'cluster',
        params: [
          { name: 'kind', value: 'task' },
          { name: 'name', value: 'lint' },
          { name: 'namespace', value: ns },
        ],
      },
    });
    expect(out.notCarried.map((n: any) => n.path)).toEqual([
      'documents[0].spec.pipelineSpec.tasks[0].conditions[0]',
      'documents[0].spec.pipelineSpec.tasks[0].taskRef',
      'documents[0]',
    ]);
    // What the API says it created, read as kubectl reads YAML (1.1): the very object stored.
    expect(parse(out.objects[0].yaml, { version: '1.1' }).spec).toEqual(stored?.spec);
    expect(parse(out.yaml, { version: '1.1' }).spec.params[1].default).toEqual({ namespace: 'no', port: '0b101' });
  });

  it('applies all or nothing: an object that exists already stops every create', async () => {
    await createObjects(other, [{ kind: 'ResourceBinding', name: 'pr-check', body: { spec: { pipelineRef: { name: 'x' } } } }]);
    const out = await migrate(fixture('pr-check-inline.yaml'), true, other);
    expect(out).toEqual({
      __typename: 'ConflictError',
      message: `ResourceBinding ${other}/pr-check already exists; nothing was created`,
    });
    expect(await read('PipelineResource', 'pr-check-pr', other)).toBeNull();
    expect(await read('PipelineResource', 'pr-check-repo', other)).toBeNull();
    expect(await read('Pipeline', 'pr-check', other)).toBeNull();
  });

  it('refuses to apply without a namespace, and input that is not legacy Tekton', async () => {
    const noNamespace = await migrate(fixture('test-and-publish.yaml'), true, null);
    expect(noNamespace.fieldErrors).toEqual([{ path: 'namespace', message: 'give the namespace to create the objects in' }]);
    const notTekton = await migrate('apiVersion: v1\nkind: Service\nmetadata: {name: s}\n');
    expect(notTekton.fieldErrors).toEqual([{ path: 'yaml', message: 'no Pipeline or PipelineRun to migrate' }]);
  });
});

describe('createAllOrNothing', () => {
  it('deletes what it created when a later create fails', async () => {
    const body = (value: string): KubeObject => ({
      apiVersion: 'tekton.dev/v1alpha1',
      kind: 'PipelineResource',
      metadata: { name: 'twice', namespace: other },
      spec: { type: 'image', params: [{ name: 'url', value }] },
    });
    // Each passes the dry run on its own; the second create then finds the first.
    const result = await createAllOrNothing(admin, [body('r.example.com/a'), body('r.example.com/b')]);
    expect(result.created).toEqual([]);
    expect([...result.failures.keys()]).toEqual([1]);
    expect(result.rolledBack.map((o) => o.metadata.name)).toEqual(['twice']);
    expect(result.leftBehind).toEqual([]);
    expect(await read('PipelineResource', 'twice', other)).toBeNull();
  });
});

describe('importPipelineResources', () => {
  const doc = (name: string, spec: string) =>
    `apiVersion: tekton.dev/v1alpha1\nkind: PipelineResource\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
  const good1 = doc(
    'imported-repo',
    '  type: git\n  params:\n    - name: URL\n      value: https://github.com/example/imported.git\n',
  );
  const good2 = doc('imported-image', '  type: image\n  params:\n    - name: url\n      value: registry.example.com/imported\n');
  const bad = doc('imported-broken', '  type: image\n  params:\n    - name: digest\n      value: sha256:0\n');

  it('writes nothing when one document is invalid, and says which and why', async () => {
    const out = await importResources([good1, bad, good2].join('---\n'));
    expect(out.applied).toBe(false);
    expect(out.documents.map((d: any) => [d.index, d.name, d.status, d.errors])).toEqual([
      [0, 'imported-repo', 'VALID', []],
      [1, 'imported-broken', 'INVALID', [{ path: 'documents[1].spec.params', message: 'type image requires param "url"' }]],
      [2, 'imported-image', 'VALID', []],
    ]);
    for (const name of ['imported-repo', 'imported-broken', 'imported-image']) {
      expect(await read('PipelineResource', name)).toBeNull();
    }
  });

  it('writes nothing when the apiserver refuses one document', async () => {
    await createObjects(ns, [gitResource('imported-existing')]);
    const out = await importResources(
      [good1, doc('imported-existing', '  type: image\n  params: [{name: url, value: r.example.com/x}]\n')].join('---\n'),
    );
    expect(out.applied).toBe(false);
    expect(out.documents.map((d: any) => [d.name, d.status, d.errors])).toEqual([
      ['imported-repo', 'VALID', []],
      [
        'imported-existing',
        'INVALID',
        [{ path: 'documents[1]', message: `PipelineResource ${ns}/imported-existing already exists` }],
      ],
    ]);
    expect(await read('PipelineResource', 'imported-repo')).toBeNull();
  });

  it('dry run checks everything and writes nothing; otherwise creates every document', async () => {
    const yaml = [good1, good2].join('---\n');
    const dry = await importResources(yaml, true);
    expect(dry).toMatchObject({ applied: false, dryRun: true });
    expect(dry.documents.map((d: any) => d.status)).toEqual(['VALID', 'VALID']);
    expect(await read('PipelineResource', 'imported-repo')).toBeNull();

    const out = await importResources(yaml);
    expect(out.applied).toBe(true);
    expect(out.documents).toEqual([
      {
        index: 0,
        name: 'imported-repo',
        namespace: ns,
        status: 'CREATED',
        errors: [],
        notes: [
          { path: 'documents[0].spec.params[0].name', message: 'param "URL" is now "url" (names are exact now)' },
          {
            path: 'documents[0].spec.params',
            message:
              "git resource without a revision: Tekton ≤ 0.45 checked out master; now an empty revision means the remote's default branch. Add revision: master to keep the old behaviour.",
          },
        ],
        resource: {
          name: 'imported-repo',
          type: 'git',
          params: [{ name: 'url', value: 'https://github.com/example/imported.git' }],
        },
      },
      {
        index: 1,
        name: 'imported-image',
        namespace: ns,
        status: 'CREATED',
        errors: [],
        notes: [],
        resource: { name: 'imported-image', type: 'image', params: [{ name: 'url', value: 'registry.example.com/imported' }] },
      },
    ]);
    expect((await read('PipelineResource', 'imported-image'))?.spec.type).toBe('image');
  });
});
