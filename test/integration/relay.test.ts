import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type ConcreteRequest,
  createOperationDescriptor,
  Environment,
  fetchQuery,
  type GraphQLResponse,
  Network,
  RecordSource,
  type RequestParameters,
  Store,
  type Variables,
} from 'relay-runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNamespace } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, imageResource, pipeline } from '../helpers/objects.js';

/**
 * Relay as a frontend runs it: relay-compiler compiles a fragment set against schema/schema.graphql (a
 * `@refetchable` fragment, refetched through `node`, and a `@connection`), and relay-runtime's store normalizes the
 * gateway's answers. Relay keys records by `id` alone, so an `id` shared by two types would merge their records
 * (relay-runtime warns of "conflicting types"); here every record keeps its own type.
 */
const operations = /* TypeScript */ `
import { graphql } from 'relay-runtime';

graphql\`
  fragment RelayTestResource_resource on PipelineResource @refetchable(queryName: "RelayTestResourceRefetchQuery") {
    name
    type
    pipelines { id name }
  }
\`;

graphql\`
  fragment RelayTestList_query on Query
    @refetchable(queryName: "RelayTestListPaginationQuery")
    @argumentDefinitions(namespace: { type: "String!" }, first: { type: "Int", defaultValue: 2 }, after: { type: "String" }) {
    pipelineResources(namespace: $namespace, first: $first, after: $after) @connection(key: "RelayTestList_pipelineResources") {
      totalCount
      edges { node { id ...RelayTestResource_resource } }
    }
  }
\`;

graphql\`
  query RelayTestQuery($namespace: String!) {
    ...RelayTestList_query @arguments(namespace: $namespace)
    resourceGraph(namespace: $namespace) { nodes { objectId kind name } edges { from to kind } }
  }
\`;
`;

let ns: string;
let gw: TestGateway;
let dir: string;
let removeNamespace: () => Promise<void>;
const artifact = async (name: string) =>
  ((await import(join(dir, '__generated__', `${name}.graphql.ts`))) as { default: ConcreteRequest }).default;

beforeAll(async () => {
  ({ name: ns, remove: removeNamespace } = await createNamespace('relay'));
  await createObjects(ns, [
    gitResource('app-repo'),
    imageResource('app-image'),
    gitResource('docs-repo'),
    pipeline('build', { source: 'git', image: 'image' }),
    binding('build', 'build', { source: 'app-repo', image: 'app-image' }),
  ]);
  gw = await startGateway();
  // Inside the project, so the artifacts resolve `relay-runtime` from its node_modules.
  mkdirSync('.test-artifacts', { recursive: true });
  dir = mkdtempSync(resolve('.test-artifacts', 'relay-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, '__generated__'));
  writeFileSync(join(dir, 'src', 'RelayTest.ts'), operations); // Relay names fragments after their module
  copyFileSync('schema/schema.graphql', join(dir, 'schema.graphql'));
  writeFileSync(
    join(dir, 'relay.config.json'),
    JSON.stringify({
      src: './src',
      schema: './schema.graphql',
      language: 'typescript',
      artifactDirectory: './__generated__',
      eagerEsModules: true,
    }),
  );
  execFileSync(resolve('node_modules/.bin/relay-compiler'), [], { cwd: dir, stdio: 'pipe' });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await removeNamespace?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function environment(): Environment {
  const network = Network.create(async (params: RequestParameters, variables: Variables) => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: params.text, variables }),
    });
    return (await res.json()) as GraphQLResponse;
  });
  return new Environment({ network, store: new Store(new RecordSource()) });
}

describe('Relay', () => {
  it('compiles the fragment set against the schema: a refetch query through node, a connection', async () => {
    const refetch = await artifact('RelayTestResourceRefetchQuery');
    expect(refetch.params.text).toMatch(/node\(id: \$id\)/);
    const pagination = await artifact('RelayTestListPaginationQuery');
    expect(pagination.params.text).toMatch(/pageInfo \{\s+endCursor\s+hasNextPage\s+\}/);
  });

  it('keeps every record of the store its own type, the resource graph beside the objects it draws', async () => {
    const env = environment();
    const warnings = vi.spyOn(console, 'error').mockImplementation(() => {});
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const query = await artifact('RelayTestQuery');
      const operation = createOperationDescriptor(query, { namespace: ns });
      env.retain(operation);
      const data = (await fetchQuery(env, query, { namespace: ns }).toPromise()) as {
        resourceGraph: { nodes: { objectId: string; kind: string; name: string }[] };
      };
      expect([...warnings.mock.calls, ...warned.mock.calls].map(String)).toEqual([]);

      const records = env.getStore().getSource().toJSON() as Record<string, { __typename?: string; name?: string }>;
      const graphNodes = data.resourceGraph.nodes;
      expect(graphNodes.map((n) => `${n.kind} ${n.name}`)).toEqual([
        'RESOURCE app-image',
        'RESOURCE app-repo',
        'RESOURCE docs-repo',
        'PIPELINE build',
      ]);
      // The objects the graph draws are records of their own types, under their global IDs, untouched by the graph.
      const byGlobalId = Object.fromEntries(graphNodes.map((n) => [n.name, records[n.objectId]?.__typename ?? null]));
      // docs-repo is past the connection's first page: not in the store, and no graph node took its place.
      expect(byGlobalId).toEqual({
        'app-image': 'PipelineResource',
        'app-repo': 'PipelineResource',
        'docs-repo': null,
        build: 'Pipeline',
      });
      // The graph's own nodes have no id: Relay keeps them as client records under their parent.
      const graphRecords = Object.entries(records).filter(([, r]) => r.__typename === 'GraphNode');
      expect(graphRecords).toHaveLength(4);
      expect(graphRecords.every(([key]) => key.startsWith('client:'))).toBe(true);
      // The first page of the connection: two edges, the whole count, a cursor to go on from.
      const connection = Object.values(records).find((r) => r.__typename === 'PipelineResourceConnection') as
        | { totalCount: number; edges: { __refs: string[] } }
        | undefined;
      expect(connection?.totalCount).toBe(3);
      expect(connection?.edges.__refs).toHaveLength(2);
      expect(env.check(operation)).toEqual({ status: 'available', fetchTime: expect.any(Number) });
    } finally {
      warnings.mockRestore();
      warned.mockRestore();
    }
  });

  it('refetches a resource through node(id) into the same record', async () => {
    const env = environment();
    const query = await artifact('RelayTestQuery');
    await fetchQuery(env, query, { namespace: ns }).toPromise();
    const refetch = await artifact('RelayTestResourceRefetchQuery');
    const records = () => env.getStore().getSource().toJSON() as Record<string, { __typename?: string; name?: string }>;
    const [id] = Object.entries(records()).find(([, r]) => r.__typename === 'PipelineResource' && r.name === 'app-repo') ?? [];
    expect(id).toBeTypeOf('string');
    // The answer is masked (the fragment's fields are read through it); the store has them under the same id.
    const data = (await fetchQuery(env, refetch, { id }).toPromise()) as { node: { __id: string } };
    expect(data.node.__id).toBe(id);
    const record = records()[id as string] as unknown as { pipelines: { __refs: string[] } };
    expect(record).toMatchObject({ __typename: 'PipelineResource', name: 'app-repo', type: 'git' });
    expect(record.pipelines.__refs.map((ref) => records()[ref]?.__typename)).toEqual(['Pipeline']);
  });
});
