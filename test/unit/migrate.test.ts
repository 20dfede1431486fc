import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { readImport } from '../../src/resources/importResources.js';
import { type MigrationNote, migratedObjects, migrateLegacy, normalizeLegacyResource } from '../../src/resources/migrate.js';
import { defaultYamlLimits, readYaml } from '../../src/resources/readYaml.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/legacy/${name}`, import.meta.url), 'utf8');
const read = (text: string) => readYaml(text, defaultYamlLimits);
const refusal = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fieldErrors;
    throw err;
  }
  throw new Error('not refused');
};

describe('normalizeLegacyResource', () => {
  it('keeps what Tekton read: case-insensitive names, last duplicate wins, missing value is empty, gcs is storage', () => {
    const changes: MigrationNote[] = [];
    const notCarried: MigrationNote[] = [];
    const git = normalizeLegacyResource(
      {
        type: 'git',
        params: [
          { name: 'URL', value: 'https://a.example/r.git' },
          { name: 'Url', value: 'https://b.example/r.git' },
          { name: 'refspec' },
        ],
      },
      'spec',
      changes,
      notCarried,
    );
    expect(git.params).toEqual([
      { name: 'url', value: 'https://b.example/r.git' },
      { name: 'refspec', value: '' },
    ]);
    expect(changes.map((c) => c.message)).toEqual([
      'param "URL" is now "url" (names are exact now)',
      'param "Url" is now "url" (names are exact now)',
      'param "url" was given more than once: the last value is kept, as Tekton did',
    ]);
    expect(notCarried).toEqual([
      {
        path: 'spec.params',
        message:
          "git resource without a revision: Tekton ≤ 0.45 checked out master; now an empty revision means the remote's default branch. Add revision: master to keep the old behaviour.",
      },
    ]);
    const gcs = normalizeLegacyResource({ type: 'gcs', params: [{ name: 'location', value: 'gs://b/p' }] }, 'spec', [], []);
    expect(gcs).toMatchObject({
      type: 'storage',
      params: [
        { name: 'type', value: 'gcs' },
        { name: 'location', value: 'gs://b/p' },
      ],
    });
  });
});

describe('migrateLegacy', () => {
  it('turns a git + image + cluster pipeline and its run into a v1 Pipeline with slots, a binding and resources', async () => {
    const m = migrateLegacy(await read(fixture('build-deploy.yaml')), { namespace: 'legacy' });
    expect(migratedObjects(m).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'PipelineResource/api-repo',
      'PipelineResource/api-image',
      'PipelineResource/staging-cluster',
      'Pipeline/build-deploy',
      'ResourceBinding/build-deploy',
    ]);
    const [pipeline] = m.pipelines;
    expect(pipeline?.apiVersion).toBe('tekton.dev/v1');
    expect(pipeline?.metadata).toEqual({
      name: 'build-deploy',
      namespace: 'legacy',
      labels: { app: 'api' },
      annotations: {
        'slots.resources.tekton.dev/source': 'git',
        'slots.resources.tekton.dev/image': 'image',
        'slots.resources.tekton.dev/target': 'cluster',
      },
    });
    const spec = pipeline?.spec as { params: any[]; tasks: any[]; workspaces: any[]; resources?: unknown };
    expect(spec.resources).toBeUndefined();
    expect(spec.params.map((p) => [p.name, p.type ?? 'string', Object.keys(p.properties ?? {})])).toEqual([
      ['dockerfile', 'string', []],
      [
        'source',
        'object',
        ['url', 'revision', 'refspec', 'submodules', 'depth', 'sslVerify', 'httpProxy', 'httpsProxy', 'noProxy'],
      ],
      ['image', 'object', ['url', 'digest']],
      ['target', 'object', ['url', 'name', 'username', 'namespace', 'insecure']],
    ]);
    expect(spec.workspaces.map((w) => [w.name, w.optional])).toEqual([
      ['target-password', true],
      ['target-token', true],
      ['target-cadata', true],
    ]);
    expect(spec.tasks[1]).toEqual({
      name: 'deploy',
      taskRef: { name: 'kubectl-deploy' },
      runAfter: ['build'],
      params: [
        { name: 'image-url', value: '$(params.image.url)' },
        { name: 'image-digest', value: '$(params.image.digest)' },
        { name: 'cluster-url', value: '$(params.target.url)' },
        { name: 'cluster-name', value: '$(params.target.name)' },
        { name: 'cluster-username', value: '$(params.target.username)' },
        { name: 'cluster-namespace', value: '$(params.target.namespace)' },
        { name: 'cluster-insecure', value: '$(params.target.insecure)' },
      ],
    });
    expect(m.bindings).toEqual([
      {
        apiVersion: 'resources.tekton.dev/v1alpha1',
        kind: 'ResourceBinding',
        metadata: { name: 'build-deploy', namespace: 'legacy' },
        spec: {
          pipelineRef: { name: 'build-deploy' },
          resources: [
            { name: 'source', resourceRef: { name: 'api-repo' } },
            { name: 'image', resourceRef: { name: 'api-image' } },
            { name: 'target', resourceRef: { name: 'staging-cluster' } },
          ],
        },
      },
    ]);
    expect(m.resources[0]?.spec?.params).toEqual([
      { name: 'url', value: 'https://github.com/example/api.git' },
      { name: 'revision', value: 'main' },
    ]);
    expect(m.references).toEqual([]);
    expect(m.notCarried.map((n) => n.path)).toEqual([
      'documents[3].spec.tasks[0].resources.outputs[0]',
      'documents[3].spec.tasks[1].resources',
      'documents[4]',
    ]);
    expect(m.notCarried[2]?.message).toBe(
      'PipelineRun "build-deploy-run-1" itself is not re-created (creating it would start a run): start runs with runPipeline, giving again: param dockerfile, serviceAccountName',
    );
  });

  it('turns `from` into runAfter and names the resources the binding expects to exist', async () => {
    const m = migrateLegacy(await read(fixture('test-and-publish.yaml')));
    expect(m.namespace).toBeUndefined();
    const tasks = (m.pipelines[0]?.spec ?? { tasks: [] }) as { tasks: { name: string; runAfter?: string[] }[] };
    expect(tasks.tasks.map((t) => [t.name, t.runAfter ?? []])).toEqual([
      ['unit-tests', []],
      ['lint', []],
      ['publish-reports', ['lint', 'unit-tests']],
    ]);
    expect(m.changes).toContainEqual({
      path: 'documents[0].spec.tasks[2].resources.inputs[0].from',
      message: 'task "publish-reports": input "reports" from "unit-tests" is now runAfter: unit-tests',
    });
    expect(m.notCarried).toContainEqual({
      path: 'documents[0].spec.tasks[2].resources.inputs[0].from',
      message:
        'task "publish-reports": what "unit-tests" wrote into "reports" is not passed on (use a workspace or results); the task reads the resource as bound',
    });
    expect(m.references).toEqual([
      { slot: 'source', slotType: 'git', resource: 'service-repo', path: 'documents[1].spec.resources[0].resourceRef.name' },
      { slot: 'reports', slotType: 'storage', resource: 'test-reports', path: 'documents[1].spec.resources[1].resourceRef.name' },
    ]);
    expect(m.resources).toEqual([]);
  });

  it('turns an inline pipelineSpec into a Pipeline and inline resourceSpecs into PipelineResources', async () => {
    const m = migrateLegacy(await read(fixture('pr-check-inline.yaml')), { namespace: 'ci' });
    expect(migratedObjects(m).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'PipelineResource/pr-check-pr',
      'PipelineResource/pr-check-repo',
      'Pipeline/pr-check',
      'ResourceBinding/pr-check',
    ]);
    expect(m.resources[0]).toEqual({
      apiVersion: 'tekton.dev/v1alpha1',
      kind: 'PipelineResource',
      metadata: { name: 'pr-check-pr', namespace: 'ci' },
      spec: {
        type: 'pullRequest',
        params: [{ name: 'url', value: 'https://github.com/example/api/pull/42' }],
        secrets: [{ fieldName: 'authToken', secretName: 'github-token', secretKey: 'token' }],
      },
    });
    expect(m.resources[1]?.spec?.params).toEqual([{ name: 'url', value: 'https://github.com/example/api.git' }]);
    expect(m.notCarried.map((n) => n.path)).toContain('documents[0].spec.resources[1].resourceSpec.params');
  });

  it('refuses what it cannot migrate, naming every problem', async () => {
    expect(await refusal(async () => migrateLegacy(await read('kind: [oops')))).toEqual([
      expect.objectContaining({ path: 'documents[0]' }),
    ]);
    expect(
      await refusal(async () => migrateLegacy(await read('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'))),
    ).toEqual([{ path: 'yaml', message: 'no Pipeline or PipelineRun to migrate' }]);
    const bad = `
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineSpec:
    resources: [{name: src, type: git}]
    tasks: [{name: t, taskRef: {name: t}}]
  resources:
    - name: src
      resourceSpec: {type: image, params: [{name: url, value: x}]}
`;
    expect(await refusal(async () => migrateLegacy(await read(bad)))).toEqual([
      { path: 'documents[0].spec.resources[0].resourceSpec.type', message: 'the spec has type image; slot "src" takes git' },
    ]);
    const invalid = bad.replace(
      'type: image, params: [{name: url, value: x}]',
      'type: git, params: [{name: revision, value: main}]',
    );
    expect(await refusal(async () => migrateLegacy(await read(invalid)))).toEqual([
      { path: 'documents[0].spec.resources[0].resourceSpec.params', message: 'type git requires param "url"' },
    ]);
  });
});

describe('readImport', () => {
  it('reports per document index and name, after normalising legacy spellings', async () => {
    const docs = readImport(
      await read(`apiVersion: tekton.dev/v1alpha1
kind: PipelineResource
metadata: {name: ok, namespace: ns}
spec: {type: git, params: [{name: URL, value: "https://example.com/r.git"}, {name: revision, value: main}]}
---
---
apiVersion: tekton.dev/v1alpha1
kind: PipelineResource
metadata: {name: no-url}
spec: {type: image, params: [{name: digest, value: "sha256:0"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
`),
      'ns',
    );
    expect(docs.map((d) => [d.index, d.name, d.status, d.errors])).toEqual([
      [0, 'ok', 'VALID', []],
      [2, 'no-url', 'INVALID', [{ path: 'documents[2].spec.params', message: 'type image requires param "url"' }]],
      [3, 'cm', 'INVALID', [{ path: 'documents[3].kind', message: 'must be a PipelineResource (tekton.dev/v1alpha1)' }]],
    ]);
    expect(docs[0]?.object?.spec?.params).toEqual([
      { name: 'url', value: 'https://example.com/r.git' },
      { name: 'revision', value: 'main' },
    ]);
  });
});

describe('migrateLegacy: what Tekton v1 refuses is rewritten or dropped, and said why', () => {
  const legacy = `
apiVersion: tekton.dev/v1alpha1
kind: Pipeline
metadata: {name: deploy}
spec:
  resources: [{name: source, type: git}]
  tasks:
    - name: check
      taskRef: {name: lint, kind: ClusterTask}
      conditions:
        - conditionRef: is-main
          resources: [{name: source, resource: source}]
      resources: {inputs: [{name: source, resource: source}]}
    - name: plain
      taskRef: {name: build}
  finally:
    - name: notify
      taskRef: {name: send, kind: ClusterTask}
---
apiVersion: tekton.dev/v1alpha1
kind: Condition
metadata: {name: is-main}
spec: {check: {image: alpine}}
---
apiVersion: tekton.dev/v1beta1
kind: ClusterTask
metadata: {name: lint}
spec: {steps: [{image: alpine}]}
---
apiVersion: tekton.dev/v1beta1
kind: Task
metadata: {name: build}
spec: {resources: {inputs: [{name: source, type: git}]}, steps: [{image: alpine}]}
`;

  it('drops conditions (naming when expressions) and turns ClusterTask references into cluster resolver references', async () => {
    const m = migrateLegacy(await read(legacy), { namespace: 'ci' });
    const spec = m.pipelines[0]?.spec as { tasks: Record<string, unknown>[]; finally: Record<string, unknown>[] };
    expect(spec.tasks[0]?.conditions).toBeUndefined();
    expect(spec.tasks[0]?.taskRef).toEqual({
      resolver: 'cluster',
      params: [
        { name: 'kind', value: 'task' },
        { name: 'name', value: 'lint' },
        { name: 'namespace', value: 'ci' },
      ],
    });
    expect(spec.tasks[1]?.taskRef).toEqual({ name: 'build' });
    expect(spec.finally[0]?.taskRef).toEqual({
      resolver: 'cluster',
      params: [
        { name: 'kind', value: 'task' },
        { name: 'name', value: 'send' },
        { name: 'namespace', value: 'ci' },
      ],
    });
    const notes = (path: string) => m.notCarried.filter((n) => n.path === path).map((n) => n.message);
    expect(notes('documents[0].spec.tasks[0].conditions[0]')).toEqual([
      'task "check": condition "is-main" is dropped: Tekton v1 has no conditions; guard the task with when expressions (when: [{input, operator, values}] or a CEL expression) instead',
    ]);
    expect(notes('documents[0].spec.tasks[0].taskRef')).toEqual([
      'task "check": ClusterTask is removed from Tekton, so "lint" is not found as one any more: create it as a Task named "lint" in namespace "ci", where the reference now resolves',
    ]);
    expect(m.changes.filter((c) => c.path === 'documents[0].spec.finally[0].taskRef').map((c) => c.message)).toEqual([
      'task "notify": the reference to ClusterTask "send" is now a cluster resolver reference to Task "send" in namespace "ci" (resolver references need Tekton\'s enable-api-fields beta, its default)',
    ]);
    expect(notes('documents[1]')).toEqual([
      'Condition "is-main" is left out: Tekton v1 has no conditions; guard the tasks that used it with when expressions',
    ]);
    expect(notes('documents[2]')).toEqual([
      'ClusterTask "lint" is left out: ClusterTask is removed from Tekton; create it as a Task named "lint" in namespace "ci", where migrated references to it resolve',
    ]);
    expect(notes('documents[3]')).toEqual([
      'Task "build" is left out: it declares spec.resources, which Tekton v1 Tasks do not have; rewrite them by hand as params (the N-<param> params the migrated pipeline passes) and workspaces',
    ]);
  });

  it('declares the params and workspaces a run gave its inline pipelineSpec implicitly, typed from the run’s values', async () => {
    const m = migrateLegacy(
      await read(`
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: hello, namespace: ci}
spec:
  params:
    - {name: HELLO, value: "yes"}
    - {name: flags, value: [-v, -x]}
    - {name: target, value: {host: a, port: "80"}}
    - {name: declared, value: kept}
  workspaces:
    - {name: shared-data, emptyDir: {}}
  pipelineSpec:
    params: [{name: declared, type: string}]
    tasks:
      - name: echo
        workspaces: [{name: out, workspace: shared-data}]
        taskSpec:
          steps: [{image: alpine, script: 'echo $(params.HELLO) $(params.target.host)'}]
`),
    );
    const spec = m.pipelines[0]?.spec as { params: unknown[]; workspaces: unknown[] };
    expect(spec.params).toEqual([
      { name: 'declared', type: 'string' },
      { name: 'HELLO', type: 'string', default: 'yes' },
      { name: 'flags', type: 'array', default: ['-v', '-x'] },
      {
        name: 'target',
        type: 'object',
        properties: { host: { type: 'string' }, port: { type: 'string' } },
        default: { host: 'a', port: '80' },
      },
    ]);
    expect(spec.workspaces).toEqual([{ name: 'shared-data' }]);
    expect(
      m.changes.filter((c) => c.path.startsWith('documents[0].spec.params') || c.path.startsWith('documents[0].spec.workspaces')),
    ).toEqual([
      {
        path: 'documents[0].spec.params[0]',
        message:
          'param "HELLO" reached the inline pipelineSpec only implicitly, from the run; Pipeline "hello" now declares it (type string, default the run\'s value), as a Pipeline of its own must',
      },
      expect.objectContaining({ path: 'documents[0].spec.params[1]' }),
      expect.objectContaining({ path: 'documents[0].spec.params[2]' }),
      {
        path: 'documents[0].spec.workspaces[0]',
        message:
          'workspace "shared-data" was bound by the run but not declared by its inline pipelineSpec; Pipeline "hello" now declares it, as a Pipeline of its own must: bind it when you run it',
      },
    ]);
  });
});
