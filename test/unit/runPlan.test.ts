import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, ValidationError } from '../../src/errors.js';
import { applyMigration, reportMigration } from '../../src/resources/applyMigration.js';
import { metadataOnly } from '../../src/resources/asCaller.js';
import { bindingEntries, bindingPipelineName, pipelineBinding } from '../../src/resources/bindings.js';
import { migrateLegacy } from '../../src/resources/migrate.js';
import { defaultYamlLimits, readYaml } from '../../src/resources/readYaml.js';
import { currentParamsHash } from '../../src/resources/resolve.js';
import { createRun, planRun } from '../../src/resources/runPlan.js';
import { staleRuns } from '../../src/resources/staleRuns.js';
import { FakeApiserver } from '../helpers/fakeApiserver.js';

/**
 * The domain code behind `runPipeline`, `migrateLegacyPipeline` and
 * `PipelineResource.staleRuns`, against an apiserver faked at the HTTP layer.
 * The same paths run against the real apiserver in test/integration/runs.test.ts
 * and migrate.test.ts.
 */

const ns = 'team-a';
const p = (path: string) => `/apis/tekton.dev/v1/namespaces/${ns}/${path}`;
const pipelinePath = p('pipelines/build');
const bindingsPath = `/apis/resources.tekton.dev/v1alpha1/namespaces/${ns}/resourcebindings`;
const resourcePath = (name: string) => `/apis/tekton.dev/v1alpha1/namespaces/${ns}/pipelineresources/${name}`;
const secretPath = (name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`;

const pipeline = {
  apiVersion: 'tekton.dev/v1',
  kind: 'Pipeline',
  metadata: { name: 'build', namespace: ns, annotations: { 'slots.resources.tekton.dev/source': 'git' } },
  spec: { params: [{ name: 'source', type: 'object' }], tasks: [] },
};
const binding = (name: string, resource: string) => ({
  metadata: { name, namespace: ns },
  spec: { pipelineRef: { name: 'build' }, resources: [{ name: 'source', resourceRef: { name: resource } }] },
});
const repo = {
  metadata: { name: 'repo', namespace: ns, resourceVersion: '41' },
  spec: {
    type: 'git',
    params: [{ name: 'url', value: 'https://example.com/r.git' }],
    secrets: [{ fieldName: 'authToken', secretName: 'git-token', secretKey: 'token' }],
  },
};

async function apiserver(): Promise<FakeApiserver> {
  return new FakeApiserver()
    .put(pipelinePath, pipeline)
    .put(`${bindingsPath}/other`, binding('other', 'nope'))
    .put(`${bindingsPath}/build`, binding('build', 'repo'))
    .put(resourcePath('repo'), repo)
    .put(secretPath('git-token'), { metadata: { name: 'git-token', namespace: ns } });
}

const caught = async (p: Promise<unknown>) =>
  p.then(
    () => new Error('not refused'),
    (err: unknown) => err,
  );

describe('planRun', () => {
  it('reads the pipeline, its binding, the resource and the Secret (metadata only) and makes the run', async () => {
    await using server = await apiserver();
    const run = await planRun(await server.client(), { namespace: ns, pipeline: 'build' });
    expect(run.metadata.generateName).toBe('build-');
    expect(run.spec.pipelineRef).toEqual({ name: 'build' });
    expect(run.spec.params).toEqual([
      {
        name: 'source',
        value: {
          url: 'https://example.com/r.git',
          revision: '',
          refspec: '',
          submodules: 'true',
          depth: '1',
          sslVerify: 'true',
          httpProxy: '',
          httpsProxy: '',
          noProxy: '',
        },
      },
    ]);
    expect(run.spec.workspaces).toEqual([
      { name: 'source-authToken', secret: { secretName: 'git-token', items: [{ key: 'token', path: 'authToken' }] } },
    ]);
    expect(server.seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${pipelinePath}`,
      `GET ${bindingsPath}`,
      `GET ${resourcePath('repo')}`,
      `GET ${secretPath('git-token')}`,
    ]);
    expect(server.seen.at(-1)?.accept).toBe(metadataOnly);
  });

  it('refuses bad names before reading anything', async () => {
    await using server = await apiserver();
    const err = await caught(planRun(await server.client(), { namespace: 'Team_A', pipeline: 'Build!', generateName: '-x' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldErrors.map((e) => e.path)).toEqual([
      'input.namespace',
      'input.pipeline',
      'input.generateName',
    ]);
    expect(server.seen).toEqual([]);
  });

  it('a missing pipeline or Secret is a NotFoundError naming it; a Secret the caller may not read is Forbidden', async () => {
    await using server = await apiserver();
    const kube = await server.client();
    const noPipeline = await caught(planRun(kube, { namespace: ns, pipeline: 'absent' }));
    expect(noPipeline).toMatchObject({ name: 'NotFoundError', kind: 'Pipeline', resourceName: 'absent' });
    server.objects.delete(secretPath('git-token'));
    const noSecret = await caught(planRun(kube, { namespace: ns, pipeline: 'build' }));
    expect(noSecret).toBeInstanceOf(NotFoundError);
    expect(noSecret).toMatchObject({ kind: 'Secret', namespace: ns, resourceName: 'git-token' });
    server.put(secretPath('git-token'), { metadata: { name: 'git-token', namespace: ns } });
    server.failures.set(secretPath('git-token'), 403);
    const forbidden = await caught(planRun(kube, { namespace: ns, pipeline: 'build' }));
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect((forbidden as Error).message).toBe(`Not allowed to read Secret ${ns}/git-token, which the run would use`);
    server.failures.set(bindingsPath, 403);
    const noBinding = await caught(planRun(kube, { namespace: ns, pipeline: 'build' }));
    expect((noBinding as Error).message).toBe(
      `Forbidden: Kubernetes RBAC does not allow this on ResourceBinding in namespace ${ns}`,
    );
  });

  it('createRun posts with fieldValidation Strict (and dryRun All when asked); a missing namespace is NotFound Namespace', async () => {
    await using server = await apiserver();
    const kube = await server.client();
    const body = await planRun(kube, { namespace: ns, pipeline: 'build' });
    const created = await createRun(kube, body, true);
    expect(created).toEqual(body);
    const post = server.seen.at(-1);
    expect([post?.method, post?.path, post?.query.get('dryRun'), post?.query.get('fieldValidation')]).toEqual([
      'POST',
      p('pipelineruns'),
      'All',
      'Strict',
    ]);
    server.onWrite = () => ({ status: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } });
    const err = await caught(createRun(kube, body, false));
    expect(err).toMatchObject({ name: 'NotFoundError', kind: 'Namespace', resourceName: ns });
    expect(server.seen.at(-1)?.query.get('dryRun')).toBeNull();
    server.onWrite = () => ({ status: 403, body: { kind: 'Status', reason: 'Forbidden', code: 403 } });
    expect(await caught(createRun(kube, body, false))).toBeInstanceOf(ForbiddenError);
  });
});

describe('bindings', () => {
  it('the binding named after the pipeline wins over another of the same pipeline', async () => {
    await using server = await apiserver();
    const b = await pipelineBinding(await server.client(), ns, 'build');
    expect(b?.metadata.name).toBe('build');
    expect(bindingPipelineName(b ?? { metadata: { name: '' } })).toBe('build');
    expect(bindingEntries(b ?? { metadata: { name: '' } })).toEqual([{ namespace: ns, slot: 'source', resourceName: 'repo' }]);
  });
});

describe('applyMigration', () => {
  const legacy = `
apiVersion: tekton.dev/v1beta1
kind: Pipeline
metadata: {name: build, namespace: ${ns}}
spec:
  resources: [{name: source, type: git}]
  tasks: [{name: t, taskRef: {name: t}, resources: {inputs: [{name: source, resource: source}]}}]
---
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: build-run, namespace: ${ns}}
spec:
  pipelineRef: {name: build}
  resources: [{name: source, resourceRef: {name: repo}}]
`;
  const migration = async () => migrateLegacy(await readYaml(legacy, defaultYamlLimits));

  it('a report reads nothing and says which resources must exist', async () => {
    const report = reportMigration(await migration());
    expect(report.applied).toBe(false);
    expect(report.objects.map((o) => [o.object.kind, o.created])).toEqual([
      ['Pipeline', false],
      ['ResourceBinding', false],
    ]);
    expect(report.notCarried.at(-1)?.message).toBe('PipelineResource "repo" must exist when applied');
  });

  it('refuses, writing nothing, when a referenced resource is missing or of another type', async () => {
    await using server = await apiserver();
    const kube = await server.client();
    server.objects.delete(resourcePath('repo'));
    const missing = await caught(applyMigration(kube, await migration()));
    expect((missing as ValidationError).fieldErrors.map((e) => e.message)).toEqual([
      `PipelineResource repo does not exist in ${ns}`,
    ]);
    server.put(resourcePath('repo'), { ...repo, spec: { ...repo.spec, type: 'image' } });
    const wrongType = await caught(applyMigration(kube, await migration()));
    expect((wrongType as ValidationError).fieldErrors.map((e) => e.message)).toEqual([
      'repo is an image resource; slot "source" takes git',
    ]);
    expect(server.seen.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('creates every object after dry-running each, and reports them created', async () => {
    await using server = await apiserver();
    const outcome = await applyMigration(await server.client(), await migration());
    expect(outcome.applied).toBe(true);
    expect(outcome.objects.map((o) => [o.object.kind, o.object.metadata.name, o.created])).toEqual([
      ['Pipeline', 'build', true],
      ['ResourceBinding', 'build', true],
    ]);
    expect(server.seen.filter((r) => r.method === 'POST').map((r) => r.query.get('dryRun'))).toEqual(['All', 'All', null, null]);
  });
});

describe('staleRuns', () => {
  const run = (name: string, rv: string, created: string, finished: boolean, paramsHash = 'h') => ({
    metadata: {
      name,
      namespace: ns,
      creationTimestamp: created,
      annotations: {
        'resources.tekton.dev/resources': JSON.stringify([
          { slot: 'source', name: 'repo', type: 'git', resourceVersion: rv, paramsHash },
        ]),
      },
    },
    ...(finished ? { status: { conditions: [{ type: 'Succeeded', status: 'True' }] } } : {}),
  });
  const now = Date.parse('2026-01-02T00:00:00Z');
  const runs = [
    run('current', '41', '2026-01-01T23:00:00Z', true),
    run('old-recent', '40', '2026-01-01T22:00:00Z', true),
    run('old-finished-long-ago', '40', '2025-12-01T00:00:00Z', true),
    run('old-still-running', '39', '2025-11-01T00:00:00Z', false),
    run('old-newest', '40', '2026-01-01T23:30:00Z', true),
  ];

  it('older versions only, unfinished or within the window, newest first, at most `limit`', () => {
    const names = (limit: number, withinHours = 24) =>
      staleRuns(runs, repo, { limit, withinHours, changedParamsOnly: false, now }).map((r) => r.metadata.name);
    expect(names(20)).toEqual(['old-newest', 'old-recent', 'old-still-running']);
    expect(names(2)).toEqual(['old-newest', 'old-recent']);
    expect(names(-5)).toEqual([]);
    expect(names(20, 0)).toEqual(['old-still-running']);
  });

  it('with changedParamsOnly, only runs whose resolved params differ from the resource’s now', () => {
    const same = currentParamsHash(repo) ?? '';
    const mixed = [
      run('same-params', '40', '2026-01-01T22:00:00Z', false, same),
      run('other-params', '40', '2026-01-01T21:00:00Z', false),
    ];
    expect(
      staleRuns(mixed, repo, { limit: 20, withinHours: 24, changedParamsOnly: true, now }).map((r) => r.metadata.name),
    ).toEqual(['other-params']);
    expect(staleRuns(mixed, repo, { limit: 20, withinHours: 24, changedParamsOnly: false, now })).toHaveLength(2);
  });
});

it('no module of the domain layer (src/resources) imports the schema layer: importing it registers no GraphQL type', () => {
  const dir = new URL('../../src/resources/', import.meta.url);
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => /from '\.\.\/schema\//.test(readFileSync(new URL(f, dir), 'utf8')));
  expect(offenders).toEqual([]);
});
