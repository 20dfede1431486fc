import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, imageResource, pipeline } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;
let appRepoVersion: string;

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('graph'));
  const [appRepo] = await createObjects(ns, [
    gitResource('app-repo'),
    imageResource('app-image'),
    imageResource('spare-image'),
    pipeline('build', { source: 'git', image: 'image' }, [
      { name: 'compile', taskRef: 'compile' },
      { name: 'push', taskRef: 'missing-task', runAfter: ['compile'] },
    ]),
    pipeline('lint', { source: 'git' }),
    {
      kind: 'Task',
      name: 'compile',
      body: { spec: { description: 'Compiles', params: [{ name: 'repo' }], steps: [{ name: 'make', image: 'x' }] } },
    },
    binding('build', 'build', { source: 'app-repo', image: 'app-image' }),
    binding('lint', 'lint', { source: 'app-repo' }),
  ]);
  appRepoVersion = appRepo?.metadata.resourceVersion ?? '';
  await createObjects(ns, [
    {
      kind: 'PipelineRun',
      name: 'build-1',
      body: {
        metadata: {
          annotations: {
            'resources.tekton.dev/resources': JSON.stringify([
              { slot: 'source', name: 'app-repo', type: 'git', resourceVersion: appRepoVersion, paramsHash: 'sha256:abc' },
            ]),
          },
        },
        // Cancelled: Tekton's controller (which runs here) finishes it at once without running anything, and
        // leaves a finished run alone, so the status written below stays.
        spec: { pipelineRef: { name: 'build' }, status: 'Cancelled' },
      },
    },
    {
      kind: 'TaskRun',
      name: 'build-1-compile',
      body: {
        metadata: { labels: { 'tekton.dev/pipelineRun': 'build-1' } },
        spec: { taskRef: { name: 'compile' }, status: 'TaskRunPending' },
      },
    },
  ]);
  // Tekton marks the cancelled run once; a status written before that would be overwritten by it.
  await eventually(async () => {
    const run = await kubeClient('admin').request<{ status?: { conditions?: { reason?: string }[] } }>(
      'GET',
      resourcePath(kinds.PipelineRun, ns, 'build-1'),
    );
    return run.status?.conditions?.[0]?.reason === 'Cancelled' ? true : undefined;
  }, 60_000);
  // Status is a subresource: written as Tekton's controller would; a finished run is one Tekton does not touch again.
  await kubeClient('admin').request('PATCH', `${resourcePath(kinds.PipelineRun, ns, 'build-1')}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        startTime: '2026-11-25T10:00:00Z',
        completionTime: '2026-11-25T10:05:00Z',
        conditions: [
          {
            type: 'Succeeded',
            status: 'True',
            reason: 'Succeeded',
            message: 'All Tasks have completed',
            lastTransitionTime: '2026-11-25T10:05:00Z',
          },
        ],
      },
    },
  });
  gw = await startGateway();
  await eventually(async () => {
    const r = await gw.gql(`{ pipelineRun(namespace: "${ns}", name: "build-1") { status } }`);
    return r.data?.pipelineRun?.status === 'SUCCEEDED' ? true : undefined;
  });
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

describe('the graph', () => {
  it('shows who uses a resource: bindings, pipelines and runs', async () => {
    const res = await gw.gql(`{
      pipelineResource(namespace: "${ns}", name: "app-repo") {
        bindings { name pipelineName }
        pipelines { name }
        runs { name status resources { slot resourceName resourceVersion paramsHash resource { name } } }
      }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.pipelineResource).toEqual({
      bindings: expect.arrayContaining([
        { name: 'build', pipelineName: 'build' },
        { name: 'lint', pipelineName: 'lint' },
      ]),
      pipelines: expect.arrayContaining([{ name: 'build' }, { name: 'lint' }]),
      runs: [
        {
          name: 'build-1',
          status: 'SUCCEEDED',
          resources: [
            {
              slot: 'source',
              resourceName: 'app-repo',
              resourceVersion: appRepoVersion,
              paramsHash: 'sha256:abc',
              resource: { name: 'app-repo' },
            },
          ],
        },
      ],
    });
    const spare = await gw.gql(
      `{ pipelineResource(namespace: "${ns}", name: "spare-image") { bindings { name } pipelines { name } runs { name } } }`,
    );
    expect(spare.data.pipelineResource).toEqual({ bindings: [], pipelines: [], runs: [] });
  });

  it('shows a pipeline with its tasks, slots, bindings, resources and runs', async () => {
    const res = await gw.gql(`{
      pipeline(namespace: "${ns}", name: "build") {
        description
        tasks { name taskName runAfter finally task { name description steps params { name type } } }
        slots { name type description resource { name } }
        bindings { name }
        resources { name type }
        runs { name startTime completionTime conditions { type status reason } taskRuns { name taskName status task { name } pipelineRun { name } } pipeline { name } }
      }
    }`);
    expect(res.errors).toBeUndefined();
    const p = res.data.pipeline;
    expect(p.description).toBe('The build pipeline');
    expect(p.tasks).toEqual([
      {
        name: 'compile',
        taskName: 'compile',
        runAfter: [],
        finally: false,
        task: { name: 'compile', description: 'Compiles', steps: ['make'], params: [{ name: 'repo', type: 'string' }] },
      },
      { name: 'push', taskName: 'missing-task', runAfter: ['compile'], finally: false, task: null },
    ]);
    expect(p.slots).toEqual([
      { name: 'image', type: 'image', description: 'slot image', resource: { name: 'app-image' } },
      { name: 'source', type: 'git', description: 'slot source', resource: { name: 'app-repo' } },
    ]);
    expect(p.bindings).toEqual([{ name: 'build' }]);
    expect(p.resources.map((r: { name: string }) => r.name).sort()).toEqual(['app-image', 'app-repo']);
    expect(p.runs).toEqual([
      {
        name: 'build-1',
        startTime: '2026-11-25T10:00:00Z',
        completionTime: '2026-11-25T10:05:00Z',
        conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded' }],
        taskRuns: [
          {
            name: 'build-1-compile',
            taskName: 'compile',
            status: 'PENDING',
            task: { name: 'compile' },
            pipelineRun: { name: 'build-1' },
          },
        ],
        pipeline: { name: 'build' },
      },
    ]);
  });

  it('lists with filters: pipelines, runs, bindings, tasks', async () => {
    const res = await gw.gql(`{
      pipelines(namespace: "${ns}", search: "lint") { edges { node { name } } }
      pipelineRuns(namespace: "${ns}", pipeline: "build", status: SUCCEEDED) { edges { node { name } } }
      failed: pipelineRuns(namespace: "${ns}", status: FAILED) { edges { node { name } } }
      resourceBindings(namespace: "${ns}", resource: "app-image") { edges { node { name resources { slot resourceName resource { type } } } } }
      tasks(namespace: "${ns}") { edges { node { name } } }
    }`);
    expect(res.errors).toBeUndefined();
    const names = (c: { edges: { node: { name: string } }[] }) => c.edges.map((e) => e.node.name);
    expect(names(res.data.pipelines)).toEqual(['lint']);
    expect(names(res.data.pipelineRuns)).toEqual(['build-1']);
    expect(names(res.data.failed)).toEqual([]);
    expect(res.data.resourceBindings.edges).toEqual([
      {
        node: {
          name: 'build',
          resources: [
            { slot: 'source', resourceName: 'app-repo', resource: { type: 'git' } },
            { slot: 'image', resourceName: 'app-image', resource: { type: 'image' } },
          ],
        },
      },
    ]);
    expect(names(res.data.tasks)).toEqual(['compile']);
  });

  it('reads every type back through node(id)', async () => {
    const ids = await gw.gql(`{
      pipelineResource(namespace: "${ns}", name: "app-repo") { id }
      pipeline(namespace: "${ns}", name: "build") { id }
      resourceBinding(namespace: "${ns}", name: "build") { id }
      pipelineRun(namespace: "${ns}", name: "build-1") { id taskRuns { id } }
      task(namespace: "${ns}", name: "compile") { id }
      namespace(name: "${ns}") { id }
    }`);
    const d = ids.data;
    const all = [
      d.pipelineResource.id,
      d.pipeline.id,
      d.resourceBinding.id,
      d.pipelineRun.id,
      d.pipelineRun.taskRuns[0].id,
      d.task.id,
      d.namespace.id,
    ];
    const res = await gw.gql(
      'query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on KubernetesObject { name } ... on Namespace { name } } }',
      { ids: all },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.nodes).toEqual([
      { __typename: 'PipelineResource', name: 'app-repo' },
      { __typename: 'Pipeline', name: 'build' },
      { __typename: 'ResourceBinding', name: 'build' },
      { __typename: 'PipelineRun', name: 'build-1' },
      { __typename: 'TaskRun', name: 'build-1-compile' },
      { __typename: 'Task', name: 'compile' },
      { __typename: 'Namespace', name: ns },
    ]);
  });

  it('answers null and NOT_FOUND for an ID that is no global ID, names no type of node or no object, and the others still', async () => {
    // Found by the hostile-tenant property test: these failed the whole field with an untyped error.
    const id = (typename: string, key: string) => Buffer.from(`${typename}:${key}`).toString('base64');
    const ids = [
      id('Pipeline', `${ns}/build`),
      '',
      'not a global id',
      id('Nope', `${ns}/build`),
      id('ResourceGraph', `${ns}/build`), // an object type, but no node
      id('Node', `${ns}/build`), // an interface
      id('Pipeline', ''),
    ];
    const many = await gw.gql('query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Pipeline { name } } }', { ids });
    expect(many.data).toEqual({ nodes: [{ __typename: 'Pipeline', name: 'build' }, null, null, null, null, null, null] });
    expect(many.errors?.map((e) => [e.extensions?.code, e.path])).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => ['NOT_FOUND', ['nodes', i]]),
    );
    for (const bad of ids.slice(1)) {
      const one = await gw.gql('query($id: ID!) { node(id: $id) { __typename } }', { id: bad });
      expect(one.data).toEqual({ node: null });
      expect(one.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['NOT_FOUND', ['node']]]);
    }
    const gone = await gw.gql('query($id: ID!) { node(id: $id) { __typename } }', { id: id('Pipeline', `${ns}/gone`) });
    expect(gone).toEqual({
      data: { node: null },
      errors: [
        {
          message: `There is no Pipeline ${ns}/gone.`,
          path: ['node'],
          locations: [{ line: 1, column: 19 }],
          extensions: { code: 'NOT_FOUND' },
        },
      ],
    });
  });

  it('lists namespaces and what each holds', async () => {
    const res = await gw.gql(
      `{ namespaces { name } namespace(name: "${ns}") { pipelineResources { name } pipelines { name } resourceBindings { name } pipelineRuns { name } } }`,
    );
    expect(res.data.namespaces.map((n: { name: string }) => n.name)).toContain(ns);
    expect(res.data.namespace).toEqual({
      pipelineResources: [{ name: 'app-image' }, { name: 'app-repo' }, { name: 'spare-image' }],
      pipelines: [{ name: 'build' }, { name: 'lint' }],
      resourceBindings: [{ name: 'build' }, { name: 'lint' }],
      pipelineRuns: [{ name: 'build-1' }],
    });
  });

  it('counts every connection over all its pages', async () => {
    const res = await gw.gql(`{
      pipelineResources(namespace: "${ns}", first: 1) { totalCount edges { node { name } } }
      pipelines(namespace: "${ns}", first: 1) { totalCount }
      resourceBindings(namespace: "${ns}", first: 1) { totalCount }
      pipelineRuns(namespace: "${ns}", first: 1) { totalCount }
      tasks(namespace: "${ns}", first: 1) { totalCount }
    }`);
    expect(res).toEqual({
      data: {
        pipelineResources: { totalCount: 3, edges: [{ node: { name: 'app-image' } }] },
        pipelines: { totalCount: 2 },
        resourceBindings: { totalCount: 2 },
        pipelineRuns: { totalCount: 1 },
        tasks: { totalCount: 1 },
      },
    });
  });

  it('draws the namespace: nodes, and edges for bindings, runs and use', async () => {
    const res = await gw.gql(
      `{ resourceGraph(namespace: "${ns}") { nodes { objectId kind name label } edges { from to kind label } } }`,
    );
    expect(res.errors).toBeUndefined();
    const { nodes, edges } = res.data.resourceGraph;
    const name = (id: string) => nodes.find((n: { objectId: string }) => n.objectId === id)?.name;
    expect(nodes.map((n: { kind: string; name: string; label: string | null }) => `${n.kind} ${n.name} ${n.label}`)).toEqual([
      'RESOURCE app-image image',
      'RESOURCE app-repo git',
      'RESOURCE spare-image image',
      'PIPELINE build null',
      'PIPELINE lint null',
      'RUN build-1 SUCCEEDED',
    ]);
    expect(
      edges.map(
        (e: { from: string; to: string; kind: string; label: string | null }) =>
          `${name(e.from)} ${e.kind} ${name(e.to)} ${e.label}`,
      ),
    ).toEqual([
      'app-repo BINDS build source',
      'app-image BINDS build image',
      'app-repo BINDS lint source',
      'build RAN build-1 null',
      `build-1 USED app-repo ${appRepoVersion}`,
    ]);
  });
});
