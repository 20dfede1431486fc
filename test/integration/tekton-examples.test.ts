import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Tekton's own examples (test/fixtures/tekton-examples, copied unedited; SOURCES
 * names each file's module and path) go through real Tekton: the v1.15.1 ones
 * are created straight on the apiserver (Tekton's webhook admits them), the
 * v0.45.0 ones that used PipelineResources through importPipelineResources and
 * migrateLegacyPipeline(apply: true); the graph reads every one back.
 */

let gw: TestGateway;
let ns: string;
const removals: (() => Promise<void>)[] = [];
const admin = kubeClient('admin');
const dir = new URL('../fixtures/tekton-examples/', import.meta.url);
const files = (version: string) =>
  readdirSync(new URL(`${version}/`, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
const example = (version: string, file: string) => readFileSync(new URL(`${version}/${file}`, dir), 'utf8');

interface Doc {
  apiVersion: string;
  kind: 'Task' | 'Pipeline' | 'PipelineRun' | 'TaskRun' | 'PipelineResource';
  metadata: { name?: string; generateName?: string };
}
const plural = { Task: 'tasks', Pipeline: 'pipelines', PipelineRun: 'pipelineruns', TaskRun: 'taskruns' } as const;

beforeAll(async () => {
  const created = await createNamespace('tekton-examples');
  ns = created.name;
  removals.push(created.remove);
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  for (const remove of removals) await remove();
});

describe('SOURCES', () => {
  it('names the module and path of every example, and only of those', () => {
    const listed = readFileSync(new URL('SOURCES', dir), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(' '));
    expect(listed.map(([file]) => file).sort()).toEqual([
      ...files('v0.45.0').map((f) => `v0.45.0/${f}`),
      ...files('v1').map((f) => `v1/${f}`),
    ]);
    for (const [file, module, path] of listed) {
      expect(module).toBe(
        file?.startsWith('v1/') ? 'github.com/tektoncd/pipeline@v1.15.1' : 'github.com/tektoncd/pipeline@v0.45.0',
      );
      expect(path?.endsWith(file?.split('/')[1] ?? '')).toBe(true);
    }
  });
});

describe('Tekton v1.15.1 examples', () => {
  it.each(files('v1'))('%s is admitted by Tekton and read back by the graph', async (file) => {
    const docs = parseAllDocuments(example('v1', file))
      .map((d) => d.toJS() as Doc | null)
      .filter((d): d is Doc => d !== null);
    const names: [Doc['kind'], string][] = [];
    for (const doc of docs) {
      const kind = doc.kind as keyof typeof plural;
      const made = await admin.request<{ metadata: { name: string } }>(
        'POST',
        `/apis/tekton.dev/v1/namespaces/${ns}/${plural[kind]}`,
        {
          body: doc,
        },
      );
      names.push([doc.kind, made.metadata.name]);
    }
    expect(names.length).toBe(docs.length);
    for (const [kind, name] of names) {
      const field = kind === 'Task' ? 'task' : kind === 'Pipeline' ? 'pipeline' : 'pipelineRun';
      // The graph reads from its cache, which follows the apiserver's watch.
      const found = await eventually(async () => {
        const res = await gw.gql(`query($n: String!, $ns: String!) { ${field}(name: $n, namespace: $ns) { name namespace } }`, {
          n: name,
          ns,
        });
        expect(res.errors).toBeUndefined();
        return res.data[field] ?? undefined;
      });
      expect(found).toEqual({ name, namespace: ns });
    }
  });
});

const MIGRATE = /* GraphQL */ `
  mutation($yaml: String!, $namespace: String) {
    migrateLegacyPipeline(yaml: $yaml, apply: true, namespace: $namespace) {
      __typename
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
      ... on MigrateLegacyPipelineSuccess { applied objects { kind name namespace created } notCarried { path message } }
    }
  }
`;
const IMPORT = /* GraphQL */ `
  mutation($yaml: String!, $namespace: String) {
    importPipelineResources(yaml: $yaml, namespace: $namespace) {
      __typename
      ... on Error { message }
      ... on ImportPipelineResourcesSuccess { applied documents { name status errors { path message } } }
    }
  }
`;
const graphField: Record<string, string> = {
  Pipeline: 'pipeline',
  PipelineRun: 'pipelineRun',
  PipelineResource: 'pipelineResource',
  ResourceBinding: 'resourceBinding',
  Task: 'task',
};

/** Reads each object back through the graph: it must be there, by name, in its namespace. */
async function readBack(objects: { kind: string; name: string; namespace: string }[]) {
  for (const o of objects) {
    const field = graphField[o.kind];
    expect(Object.keys(graphField), `the graph has a field for ${o.kind}`).toContain(o.kind);
    const found = await eventually(async () => {
      const res = await gw.gql(`query($n: String!, $ns: String!) { ${field}(name: $n, namespace: $ns) { name namespace } }`, {
        n: o.name,
        ns: o.namespace,
      });
      expect(res.errors).toBeUndefined();
      return res.data[field as string] ?? undefined;
    });
    expect(found).toEqual({ name: o.name, namespace: o.namespace });
  }
}

describe('Tekton v0.45.0 examples that used PipelineResources', () => {
  it.each(['output-pipelinerun.yaml', 'task-output-image.yaml'])(
    '%s: importPipelineResources creates its PipelineResources and the graph reads them back',
    async (file) => {
      // The file's PipelineResource documents alone: importPipelineResources refuses any other kind.
      const resources = parseAllDocuments(example('v0.45.0', file)).filter((d) => d.toJS()?.kind === 'PipelineResource');
      const yaml = resources.map((d) => d.toString()).join('---\n');
      const res = await gw.gql(IMPORT, { yaml, namespace: ns });
      expect(res.errors).toBeUndefined();
      const out = res.data.importPipelineResources;
      expect(out.__typename).toBe('ImportPipelineResourcesSuccess');
      expect(out.applied).toBe(true);
      const names = resources.map((d) => d.toJS().metadata.name as string);
      expect(out.documents).toEqual(names.map((name) => ({ name, status: 'CREATED', errors: [] })));
      await readBack(names.map((name) => ({ kind: 'PipelineResource', name, namespace: ns })));
    },
  );

  it.each(['output-pipelinerun.yaml', 'pipelinerun-with-resourcespec.yaml'])(
    '%s: migrateLegacyPipeline(apply: true) is admitted by Tekton and the graph reads every object back',
    async (file) => {
      const created = await createNamespace('tekton-legacy');
      removals.push(created.remove);
      const res = await gw.gql(MIGRATE, { yaml: example('v0.45.0', file), namespace: created.name });
      expect(res.errors).toBeUndefined();
      const out = res.data.migrateLegacyPipeline;
      expect(out.__typename, JSON.stringify(out)).toBe('MigrateLegacyPipelineSuccess');
      expect(out.applied).toBe(true);
      expect(out.objects.every((o: { created: boolean }) => o.created)).toBe(true);
      await readBack(out.objects);
    },
  );
});
