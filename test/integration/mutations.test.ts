import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import { type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, imageResource, pipeline } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;
const admin = kubeClient('admin');
const read = (kind: 'PipelineResource' | 'ResourceBinding', name: string) =>
  admin.request<KubeObject & { spec: Record<string, unknown> }>('GET', resourcePath(kinds[kind], ns, name)).catch((err) => {
    if (err instanceof KubeApiError && err.status === 404) return null;
    throw err;
  });

// Each mutation's result union has its own members; spreads on others would not validate.
const BASE = '__typename ... on Error { message } ... on NotFoundError { kind name }';
const VALIDATION = '... on ValidationError { fieldErrors { path message } }';
const CONFLICT = '... on ConflictError { current { resourceVersion params { name value } } }';
const RESULT = `${BASE} ${VALIDATION} ${CONFLICT}`;
const DELETE_RESULT = `${BASE} ${CONFLICT} ... on InUseError { bindings { name } }`;
const RESOURCE = `resource { name type description resourceVersion params { name value } labels { key value } }`;

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('mutate'));
  await createObjects(ns, [
    gitResource('repo'),
    gitResource('other-repo'),
    imageResource('image'),
    gitResource('bound'),
    pipeline('build', { source: 'git', image: 'image' }),
    pipeline('plain', {}),
    binding('uses-bound', 'build', { source: 'bound' }),
  ]);
  gw = await startGateway();
  await eventually(() => (gw.cache.kind('ResourceBinding').get(ns, 'uses-bound') ? true : undefined));
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

describe('updatePipelineResource', () => {
  const update = (input: Record<string, unknown>, dryRun = false) =>
    gw.gql(
      `mutation($input: UpdatePipelineResourceInput!, $dryRun: Boolean) { updatePipelineResource(input: $input, dryRun: $dryRun) { ${RESULT} ... on UpdatePipelineResourceSuccess { ${RESOURCE} } } }`,
      { input, dryRun },
    );

  it('replaces the fields given and keeps the rest', async () => {
    const before = await read('PipelineResource', 'repo');
    const res = await update({
      namespace: ns,
      name: 'repo',
      resourceVersion: before?.metadata.resourceVersion,
      description: 'Now described',
      labels: [{ key: 'tier', value: 'source' }],
    });
    const out = res.data.updatePipelineResource;
    expect(out.__typename).toBe('UpdatePipelineResourceSuccess');
    expect(out.resource).toMatchObject({
      type: 'git',
      description: 'Now described',
      params: [{ name: 'url', value: 'https://github.com/example/repo.git' }],
      labels: [{ key: 'tier', value: 'source' }],
    });
    expect(out.resource.resourceVersion).not.toBe(before?.metadata.resourceVersion);
  });

  it('relabels a stored legacy resource whose param is named `URL` (decision 003: names match case-insensitively)', async () => {
    // Stored as legacy Tekton wrote it; the CRD's rules match the name case-insensitively, so the apiserver takes it.
    await admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
      body: {
        apiVersion: 'tekton.dev/v1alpha1',
        kind: 'PipelineResource',
        metadata: { name: 'legacy-url' },
        spec: { type: 'git', params: [{ name: 'URL', value: 'https://github.com/example/legacy.git' }] },
      },
    });
    const stored = await read('PipelineResource', 'legacy-url');
    const res = await update({
      namespace: ns,
      name: 'legacy-url',
      resourceVersion: stored?.metadata.resourceVersion,
      labels: [{ key: 'tier', value: 'legacy' }],
    });
    expect(res.data.updatePipelineResource).toMatchObject({
      __typename: 'UpdatePipelineResourceSuccess',
      resource: {
        params: [{ name: 'URL', value: 'https://github.com/example/legacy.git' }],
        labels: [{ key: 'tier', value: 'legacy' }],
      },
    });
    // The stored name is kept as it was written.
    expect((await read('PipelineResource', 'legacy-url'))?.spec.params).toEqual([
      { name: 'URL', value: 'https://github.com/example/legacy.git' },
    ]);
  });

  it('refuses a stale resourceVersion with a ConflictError carrying the current object, and writes nothing', async () => {
    const current = await read('PipelineResource', 'repo');
    const res = await update({ namespace: ns, name: 'repo', resourceVersion: '1', description: 'lost update' });
    expect(res.data.updatePipelineResource).toMatchObject({
      __typename: 'ConflictError',
      current: {
        resourceVersion: current?.metadata.resourceVersion,
        params: [{ name: 'url', value: 'https://github.com/example/repo.git' }],
      },
    });
    expect((await read('PipelineResource', 'repo'))?.spec.description).toBe('Now described');
  });

  it('validates the result as a whole, naming the field', async () => {
    const current = await read('PipelineResource', 'repo');
    const res = await update({
      namespace: ns,
      name: 'repo',
      resourceVersion: current?.metadata.resourceVersion,
      params: [{ name: 'revision', value: 'main' }],
    });
    expect(res.data.updatePipelineResource).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'input.params', message: 'type git requires param "url"' }],
    });
  });

  it('refuses a type change that no longer fits a bound slot', async () => {
    const current = await read('PipelineResource', 'bound');
    const res = await update({
      namespace: ns,
      name: 'bound',
      resourceVersion: current?.metadata.resourceVersion,
      type: 'image',
      params: [{ name: 'url', value: 'r.example.com/x' }],
    });
    expect(res.data.updatePipelineResource.fieldErrors).toEqual([
      { path: 'input.type', message: 'bound to slot "source" of pipeline build, which takes git; unbind it first' },
    ]);
    expect((await read('PipelineResource', 'bound'))?.spec.type).toBe('git');
  });

  it('answers NotFoundError for a resource that does not exist', async () => {
    const res = await update({ namespace: ns, name: 'nope', resourceVersion: '1' });
    expect(res.data.updatePipelineResource).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'PipelineResource',
      name: 'nope',
    });
  });

  it('dryRun changes nothing', async () => {
    const current = await read('PipelineResource', 'repo');
    const res = await update(
      { namespace: ns, name: 'repo', resourceVersion: current?.metadata.resourceVersion, description: 'dry' },
      true,
    );
    expect(res.data.updatePipelineResource.resource.description).toBe('dry');
    expect((await read('PipelineResource', 'repo'))?.metadata.resourceVersion).toBe(current?.metadata.resourceVersion);
  });
});

describe('patchPipelineResourceParams', () => {
  const patch = (args: string) =>
    gw.gql(
      `mutation { patchPipelineResourceParams(namespace: "${ns}", name: "other-repo", ${args}) { ${RESULT} ... on PatchPipelineResourceParamsSuccess { ${RESOURCE} } } }`,
    );

  it('sets and removes single params', async () => {
    const set = await patch('set: [{ name: "revision", value: "v1.2.0" }, { name: "depth", value: "0" }]');
    expect(set.data.patchPipelineResourceParams.resource.params).toEqual([
      { name: 'url', value: 'https://github.com/example/other-repo.git' },
      { name: 'revision', value: 'v1.2.0' },
      { name: 'depth', value: '0' },
    ]);
    const removed = await patch('remove: ["depth"], set: [{ name: "revision", value: "main" }]');
    expect(removed.data.patchPipelineResourceParams.resource.params).toEqual([
      { name: 'url', value: 'https://github.com/example/other-repo.git' },
      { name: 'revision', value: 'main' },
    ]);
  });

  it('refuses removing what is not there, an unknown param, or a required one', async () => {
    expect((await patch('remove: ["colour"]')).data.patchPipelineResourceParams.fieldErrors).toEqual([
      { path: 'remove', message: 'no param "colour" to remove' },
    ]);
    expect(
      (await patch('set: [{ name: "colour", value: "x" }]')).data.patchPipelineResourceParams.fieldErrors[0].message,
    ).toContain('unknown param "colour"');
    expect((await patch('remove: ["url"]')).data.patchPipelineResourceParams.fieldErrors).toEqual([
      { path: 'input.params', message: 'type git requires param "url"' },
    ]);
  });

  it('with a stale resourceVersion answers ConflictError', async () => {
    expect(
      (await patch('resourceVersion: "1", set: [{ name: "revision", value: "x" }]')).data.patchPipelineResourceParams.__typename,
    ).toBe('ConflictError');
  });
});

describe('deletePipelineResource', () => {
  const del = (name: string, extra = '') =>
    gw.gql(
      `mutation { deletePipelineResource(namespace: "${ns}", name: "${name}" ${extra}) { ${DELETE_RESULT} ... on DeletePipelineResourceSuccess { resource { name } } } }`,
    );

  it('refuses to delete a bound resource, listing the bindings', async () => {
    const res = await del('bound');
    expect(res.data.deletePipelineResource).toMatchObject({ __typename: 'InUseError', bindings: [{ name: 'uses-bound' }] });
    expect(await read('PipelineResource', 'bound')).not.toBeNull();
  });

  it('dryRun and force', async () => {
    expect((await del('bound', ', force: true, dryRun: true')).data.deletePipelineResource.__typename).toBe(
      'DeletePipelineResourceSuccess',
    );
    expect(await read('PipelineResource', 'bound')).not.toBeNull();
    expect((await del('bound', ', force: true')).data.deletePipelineResource).toEqual({
      __typename: 'DeletePipelineResourceSuccess',
      resource: { name: 'bound' },
    });
    expect(await read('PipelineResource', 'bound')).toBeNull();
  });

  it('answers NotFoundError, and ConflictError for a stale precondition', async () => {
    expect((await del('nope')).data.deletePipelineResource.__typename).toBe('NotFoundError');
    expect((await del('image', ', resourceVersion: "1"')).data.deletePipelineResource.__typename).toBe('ConflictError');
    expect(await read('PipelineResource', 'image')).not.toBeNull();
  });

  it('answers a name that is no Kubernetes name with a typed result, never an internal error', async () => {
    // Found by the hostile-tenant property test (seed 987654): `name: "%"` was INTERNAL_SERVER_ERROR.
    // The apiserver refuses a name with `%` (ValidationError); the others name nothing there (NotFoundError).
    const answers: Record<string, string> = {};
    for (const name of ['%', '%25', 'a/b', '..', '?x', '#']) {
      const res = await del(name, ', dryRun: true');
      expect(res.errors, name).toBeUndefined();
      answers[name] = res.data.deletePipelineResource.__typename;
    }
    expect(answers).toEqual({
      '%': 'ValidationError',
      '%25': 'ValidationError',
      'a/b': 'NotFoundError',
      '..': 'NotFoundError',
      '?x': 'NotFoundError',
      '#': 'NotFoundError',
    });
  });
});

describe('bindResource and unbindResource', () => {
  const bind = (input: Record<string, string>, dryRun = false) =>
    gw.gql(
      `mutation($input: BindResourceInput!, $dryRun: Boolean) { bindResource(input: $input, dryRun: $dryRun) { ${BASE} ${VALIDATION} ... on BindResourceSuccess { binding { name pipelineName resources { slot resourceName } } } } }`,
      { input: { namespace: ns, ...input }, dryRun },
    );
  const unbind = (input: Record<string, string>) =>
    gw.gql(
      `mutation($input: UnbindResourceInput!) { unbindResource(input: $input) { ${BASE} ${VALIDATION} ... on UnbindResourceSuccess { binding { name resources { slot resourceName } } } } }`,
      { input: { namespace: ns, ...input } },
    );

  it('binds into the pipeline’s existing binding, replacing the slot', async () => {
    const res = await bind({ pipeline: 'build', slot: 'image', resource: 'image' });
    expect(res.data.bindResource).toEqual({
      __typename: 'BindResourceSuccess',
      binding: {
        name: 'uses-bound',
        pipelineName: 'build',
        resources: [
          { slot: 'source', resourceName: 'bound' },
          { slot: 'image', resourceName: 'image' },
        ],
      },
    });
    const again = await bind({ pipeline: 'build', slot: 'source', resource: 'repo' });
    expect(again.data.bindResource.binding.resources).toEqual([
      { slot: 'image', resourceName: 'image' },
      { slot: 'source', resourceName: 'repo' },
    ]);
  });

  it('type-checks against the slot and names the field', async () => {
    expect((await bind({ pipeline: 'build', slot: 'image', resource: 'repo' })).data.bindResource.fieldErrors).toEqual([
      { path: 'input.resource', message: 'repo is a git resource; slot "image" takes image' },
    ]);
    expect((await bind({ pipeline: 'build', slot: 'cache', resource: 'repo' })).data.bindResource.fieldErrors).toEqual([
      { path: 'input.slot', message: 'pipeline build has no slot "cache"; its slots: image, source' },
    ]);
    expect((await bind({ pipeline: 'plain', slot: 'x', resource: 'repo' })).data.bindResource.fieldErrors[0].message).toContain(
      'declares no slots',
    );
    expect((await bind({ pipeline: 'Bad Name', slot: 'x', resource: 'repo' })).data.bindResource.fieldErrors).toEqual([
      { path: 'input.pipeline', message: 'must be a DNS-1123 name' },
    ]);
    expect((await bind({ pipeline: 'missing', slot: 'x', resource: 'repo' })).data.bindResource).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'Pipeline',
    });
    expect((await bind({ pipeline: 'build', slot: 'source', resource: 'missing' })).data.bindResource).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'PipelineResource',
    });
  });

  it('creates a binding named after the pipeline when it has none; dryRun writes nothing', async () => {
    await createObjects(ns, [pipeline('deploy', { target: 'git' })]);
    expect((await bind({ pipeline: 'deploy', slot: 'target', resource: 'repo' }, true)).data.bindResource.__typename).toBe(
      'BindResourceSuccess',
    );
    expect(await read('ResourceBinding', 'deploy')).toBeNull();
    const res = await bind({ pipeline: 'deploy', slot: 'target', resource: 'repo' });
    expect(res.data.bindResource.binding).toEqual({
      name: 'deploy',
      pipelineName: 'deploy',
      resources: [{ slot: 'target', resourceName: 'repo' }],
    });
  });

  it('unbinds a slot, and answers NotFoundError for a slot that is not bound', async () => {
    const res = await unbind({ pipeline: 'deploy', slot: 'target' });
    expect(res.data.unbindResource.binding).toEqual({ name: 'deploy', resources: [] });
    expect((await unbind({ pipeline: 'deploy', slot: 'target' })).data.unbindResource.__typename).toBe('NotFoundError');
  });
});
