import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestsOf } from '../helpers/apiserverMetrics.js';
import { createNamespace, kubeconfigPath, type TestUser } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';

/**
 * Federation v2, proven through a real router: this gateway as a subgraph,
 * composed with a second subgraph ("teams", written here as docs/federation.md
 * shows) by @apollo/composition, and queried through @apollo/gateway served
 * by @apollo/server (docs/decisions/005-federation-gateway.md).
 */

const groups = ['tekton.dev', 'resources.tekton.dev'];
const BULK = 500;

/** The teams subgraph: who owns which resources and pipelines; it knows them by key only. */
const TEAMS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  "A team that owns resources and pipelines."
  type Team @key(fields: "name") {
    name: String!
    slack: String!
    "Resources it owns, by namespace and name: the router reads the rest from the tekton subgraph. Null where tekton has none (deleted, or not readable by the caller): the error beside it says which."
    pipelineResources: [PipelineResource]!
    "Its namespace, by name."
    namespace: Namespace
    "Bindings it pinned, by the global ID it stored."
    pinnedBindings: [ResourceBinding!]!
  }

  type PipelineResource @key(fields: "namespace name") {
    namespace: String!
    name: String!
    "The team that owns it; null when none does."
    owner: Team
  }

  type Pipeline @key(fields: "namespace name") {
    namespace: String!
    name: String!
    "The team that owns it; null when none does."
    owner: Team
  }

  type Namespace @key(fields: "name", resolvable: false) {
    name: String!
  }

  type ResourceBinding @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type Query {
    team(name: String!): Team
  }
`;

interface TeamRecord {
  name: string;
  slack: string;
  resources: string[];
  pipelines: string[];
  bindingIds: string[];
}

function teamsSubgraph(ns: string) {
  const teams: TeamRecord[] = [
    {
      name: 'platform',
      slack: '#platform',
      resources: ['api-repo'],
      pipelines: ['build'],
      bindingIds: [encodeGlobalID('ResourceBinding', `${ns}/build`)],
    },
    { name: 'web', slack: '#web', resources: ['web-repo'], pipelines: [], bindingIds: [] },
    {
      name: 'bulk',
      slack: '#bulk',
      resources: Array.from({ length: BULK }, (_, i) => `bulk-${i}`),
      pipelines: [],
      bindingIds: [],
    },
    { name: 'solo', slack: '#solo', resources: ['bulk-0'], pipelines: [], bindingIds: [] },
    { name: 'stale', slack: '#stale', resources: ['web-repo', 'deleted-repo'], pipelines: [], bindingIds: [] },
  ];
  const byName = (name: string) => teams.find((t) => t.name === name) ?? null;
  type Key = { namespace: string; name: string };
  const ownerOf = (field: 'resources' | 'pipelines', key: Key) =>
    key.namespace === ns ? (teams.find((t) => t[field].includes(key.name)) ?? null) : null;
  const schema = buildSubgraphSchema({
    typeDefs: parse(TEAMS_SDL),
    resolvers: {
      Query: { team: (_: unknown, args: { name: string }) => byName(args.name) },
      Team: {
        __resolveReference: (ref: { name: string }) => byName(ref.name),
        pipelineResources: (t: TeamRecord) => t.resources.map((name) => ({ namespace: ns, name })),
        namespace: () => ({ name: ns }),
        pinnedBindings: (t: TeamRecord) => t.bindingIds.map((id) => ({ id })),
      },
      PipelineResource: { owner: (key: Key) => ownerOf('resources', key) },
      Pipeline: { owner: (key: Key) => ownerOf('pipelines', key) },
    },
  });
  return { schema, sdl: printSubgraphSchema(schema) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** Our subgraph's requests from the router: how many `_entities` fetches, with how many representations. */
const entityFetches: number[] = [];

let ns: string;
let tekton: TestGateway;
let teamsServer: Server;
let teamsSdl: string;
let router: ApolloServer;
let routerUrl: string;
let supergraphSdl: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const created = await createNamespace('federation');
  ns = created.name;
  cleanups.push(created.remove);
  await createObjects(ns, [
    gitResource('api-repo'),
    gitResource('web-repo'),
    gitResource('orphan'),
    pipeline('build', { source: 'git' }),
    binding('build', 'build', { source: 'api-repo' }),
    ...Array.from({ length: BULK }, (_, i) => gitResource(`bulk-${i}`)),
  ]);

  tekton = await startGateway();
  const teams = teamsSubgraph(ns);
  teamsSdl = teams.sdl;
  teamsServer = createServer(createYoga({ schema: teams.schema, graphqlEndpoint: '/graphql', logging: false }));
  const teamsUrl = await listen(teamsServer);

  // Each subgraph's SDL as a router gets it: `_service { sdl }`.
  const sdlOf = async (url: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    return ((await res.json()) as { data: { _service: { sdl: string } } }).data._service.sdl;
  };
  const composed = composeServices([
    { name: 'tekton', url: tekton.url, typeDefs: parse(await sdlOf(tekton.url)) },
    { name: 'teams', url: teamsUrl, typeDefs: parse(await sdlOf(teamsUrl)) },
  ]);
  expect(composed.errors?.map(String) ?? []).toEqual([]);
  expect((composed.hints ?? []).map((h) => `${h.definition.code}: ${h.message}`)).toEqual([]);
  supergraphSdl = composed.supergraphSdl ?? '';

  ({ server: router, url: routerUrl } = await startRouter(tekton.url));
}, 180_000);

afterAll(async () => {
  await router?.stop();
  await new Promise((r) => (teamsServer ? teamsServer.close(r) : r(undefined)));
  await tekton?.stop();
  await Promise.all(cleanups.map((c) => c()));
});

/** @apollo/gateway on @apollo/server, over the composed supergraph; `tektonUrl` overrides where this subgraph is. */
async function startRouter(tektonUrl: string): Promise<{ server: ApolloServer; url: string }> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url: name === 'tekton' ? tektonUrl : url,
        willSendRequest({ request }) {
          const reps = request.variables?.representations;
          if (name === 'tekton' && Array.isArray(reps)) entityFetches.push(reps.length);
        },
      }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { server, url };
}

async function routed<T = any>(query: string, variables: Record<string, unknown> = {}, url = routerUrl): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data as T;
}

const counted = (run: () => Promise<unknown>) => requestsOf(kubeconfigPath(), { groups }, run);

describe('the subgraph', () => {
  it('serves its federation SDL as committed in schema/subgraph.graphql, with a key per entity', async () => {
    const res = await tekton.gql('{ _service { sdl } }');
    const committed = readFileSync(new URL('../../schema/subgraph.graphql', import.meta.url), 'utf8');
    expect(`${res.data._service.sdl}\n`).toBe(committed);
    for (const type of ['PipelineResource', 'Pipeline', 'PipelineRun', 'ResourceBinding']) {
      expect(committed).toMatch(
        new RegExp(`type ${type} implements [^{]*@key\\(fields: "id"\\)\\s+@key\\(fields: "namespace name"\\)`),
      );
    }
    expect(committed).toMatch(/type Namespace implements Node\s+@key\(fields: "id"\)\s+@key\(fields: "name"\)/);
  });

  it('composes with another subgraph without errors or hints', () => {
    expect(teamsSdl).toContain('owner: Team');
    expect(supergraphSdl).toContain('join__graph(name: "tekton"');
    expect(supergraphSdl).toContain('join__graph(name: "teams"');
  });

  it('resolves representations by global ID and by namespace and name; unknown ones are null with NOT_FOUND', async () => {
    const reps = [
      { __typename: 'PipelineResource', id: encodeGlobalID('PipelineResource', `${ns}/api-repo`) },
      { __typename: 'PipelineResource', namespace: ns, name: 'web-repo' },
      { __typename: 'Pipeline', namespace: ns, name: 'build' },
      { __typename: 'ResourceBinding', id: encodeGlobalID('ResourceBinding', `${ns}/build`) },
      { __typename: 'Namespace', name: ns },
      { __typename: 'Namespace', id: encodeGlobalID('Namespace', ns) },
      { __typename: 'PipelineResource', id: encodeGlobalID('Pipeline', `${ns}/build`) }, // another type's ID
      { __typename: 'PipelineResource', id: 'not a global id' },
      { __typename: 'PipelineResource', namespace: ns, name: 'missing' },
      { __typename: 'PipelineRun', namespace: ns, name: 'missing' },
      { __typename: 'Namespace', name: 'no-such-namespace' },
    ];
    const res = await tekton.gql(
      /* GraphQL */ `
        query($reps: [_Any!]!) {
          _entities(representations: $reps) {
            __typename
            ... on KubernetesObject { namespace name }
            ... on PipelineResource { type pipelines { name } }
            ... on ResourceBinding { pipelineName }
            ... on Namespace { name pipelines { name } }
          }
        }
      `,
      { reps },
    );
    expect(byIndex(res.errors)).toEqual([
      ['NOT_FOUND', ['_entities', 6], 'The id names no PipelineResource.'],
      ['NOT_FOUND', ['_entities', 7], 'The id names no PipelineResource.'],
      ['NOT_FOUND', ['_entities', 8], `There is no PipelineResource ${ns}/missing.`],
      ['NOT_FOUND', ['_entities', 9], `There is no PipelineRun ${ns}/missing.`],
      ['NOT_FOUND', ['_entities', 10], 'There is no Namespace no-such-namespace that you may read.'],
    ]);
    expect(res.data._entities).toEqual([
      { __typename: 'PipelineResource', namespace: ns, name: 'api-repo', type: 'git', pipelines: [{ name: 'build' }] },
      { __typename: 'PipelineResource', namespace: ns, name: 'web-repo', type: 'git', pipelines: [] },
      { __typename: 'Pipeline', namespace: ns, name: 'build' },
      { __typename: 'ResourceBinding', namespace: ns, name: 'build', pipelineName: 'build' },
      { __typename: 'Namespace', name: ns, pipelines: [{ name: 'build' }] },
      { __typename: 'Namespace', name: ns, pipelines: [{ name: 'build' }] },
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('answers null and NOT_FOUND at its index for a representation of a type that is no entity, or of no type at all', async () => {
    // Found by the hostile-tenant property test: these failed the whole field with an untyped or internal error.
    const reps = [
      { __typename: 'Pipeline', namespace: ns, name: 'build' },
      { __typename: 'Task', namespace: ns, name: 'build' }, // an object type, but no entity
      { __typename: 'ResourceGraph' },
      { __typename: 'Query' },
      { __typename: 'Node', id: encodeGlobalID('Pipeline', `${ns}/build`) }, // an interface
      { __typename: 'Nope', namespace: ns, name: 'build' },
      { namespace: ns, name: 'build' },
    ];
    const res = await tekton.gql(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { __typename ... on Pipeline { name } } }',
      { reps },
    );
    expect(res.data).toEqual({ _entities: [{ __typename: 'Pipeline', name: 'build' }, null, null, null, null, null, null] });
    expect(res.errors?.map((e) => [e.extensions?.code, e.path])).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => ['NOT_FOUND', ['_entities', i]]),
    );
  });

  it('answers null and NOT_FOUND at its index for an entity that no longer exists, the others beside it', async () => {
    const reps = [
      { __typename: 'PipelineResource', namespace: ns, name: 'gone' },
      { __typename: 'PipelineResource', namespace: ns, name: 'api-repo' },
      { __typename: 'Pipeline', id: encodeGlobalID('Pipeline', `${ns}/gone`) },
      { __typename: 'Pipeline', id: encodeGlobalID('PipelineResource', `${ns}/api-repo`) }, // a global ID of another type
    ];
    const res = await tekton.gql(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { __typename ... on PipelineResource { name } } }',
      { reps },
    );
    expect(res.data).toEqual({ _entities: [null, { __typename: 'PipelineResource', name: 'api-repo' }, null, null] });
    expect(byIndex(res.errors)).toEqual([
      ['NOT_FOUND', ['_entities', 0], `There is no PipelineResource ${ns}/gone.`],
      ['NOT_FOUND', ['_entities', 2], `There is no Pipeline ${ns}/gone.`],
      ['NOT_FOUND', ['_entities', 3], 'The id names no Pipeline.'],
    ]);
  });

  const haveUsers = existsSync(kubeconfigPath('mallory'));
  it.skipIf(!haveUsers)(
    'resolves entities as the caller: one who may not read the namespace gets null and FORBIDDEN',
    async () => {
      const token = (user: TestUser): string => JSON.parse(readFileSync(kubeconfigPath(user), 'utf8')).users[0].user.token;
      const guarded = await startGateway({ auth: 'token' });
      try {
        const query = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on PipelineResource { name } } }';
        const reps = [{ __typename: 'PipelineResource', namespace: ns, name: 'api-repo' }];
        const refused = await guarded.gql(query, { reps }, token('mallory'));
        expect(refused.data).toEqual({ _entities: [null] });
        expect(refused.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['_entities', 0]]]);
        expect((await guarded.gql(query, { reps }, token('admin'))).data._entities).toEqual([{ name: 'api-repo' }]);
      } finally {
        await guarded.stop();
      }
    },
  );
});

describe('through the router', () => {
  it('starts in this subgraph and pulls `owner` from the teams subgraph', async () => {
    const data = await routed(
      /* GraphQL */ `
        query($ns: String!) {
          api: pipelineResource(namespace: $ns, name: "api-repo") { name type owner { name slack } }
          orphan: pipelineResource(namespace: $ns, name: "orphan") { name owner { name } }
          pipeline(namespace: $ns, name: "build") {
            name
            owner { name }
            resources { name owner { name } }
          }
        }
      `,
      { ns },
    );
    expect(data).toEqual({
      api: { name: 'api-repo', type: 'git', owner: { name: 'platform', slack: '#platform' } },
      orphan: { name: 'orphan', owner: null },
      pipeline: { name: 'build', owner: { name: 'platform' }, resources: [{ name: 'api-repo', owner: { name: 'platform' } }] },
    });
  });

  it('starts in the teams subgraph and pulls this one’s fields through `_entities`, by every key', async () => {
    const data = await routed(/* GraphQL */ `
      {
        team(name: "platform") {
          name
          pipelineResources { namespace name type params { name value } pipelines { name owner { name } } }
          namespace { name pipelineResources { name } }
          pinnedBindings { name pipelineName resources { slot resourceName } }
        }
      }
    `);
    expect(data.team).toEqual({
      name: 'platform',
      pipelineResources: [
        {
          namespace: ns,
          name: 'api-repo',
          type: 'git',
          params: [{ name: 'url', value: 'https://github.com/example/api-repo.git' }],
          pipelines: [{ name: 'build', owner: { name: 'platform' } }],
        },
      ],
      namespace: {
        name: ns,
        pipelineResources: expect.arrayContaining([{ name: 'api-repo' }, { name: 'orphan' }, { name: 'bulk-499' }]),
      },
      pinnedBindings: [{ name: 'build', pipelineName: 'build', resources: [{ slot: 'source', resourceName: 'api-repo' }] }],
    });
    expect(data.team.namespace.pipelineResources).toHaveLength(BULK + 3);
  });

  it('keeps the rest of a list when one entity is gone: null in its place and NOT_FOUND from the router', async () => {
    const res = await fetch(routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ team(name: "stale") { name pipelineResources { name type } } }' }),
    });
    const body = (await res.json()) as { data: unknown; errors: { message: string; extensions?: { code?: string } }[] };
    expect(body.data).toEqual({ team: { name: 'stale', pipelineResources: [{ name: 'web-repo', type: 'git' }, null] } });
    expect(body.errors.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['NOT_FOUND', `There is no PipelineResource ${ns}/deleted-repo.`],
    ]);
  });

  const BATCH = /* GraphQL */ `
    query($team: String!) { team(name: $team) { pipelineResources { name type bindings { name } pipelines { name } } } }
  `;
  const batchNames = async (team: string, url = routerUrl) => {
    const data = await routed(BATCH, { team }, url);
    return data.team.pipelineResources.map((r: { name: string; type: string }) => `${r.name}:${r.type}`);
  };

  it(`resolves ${BULK} representations in one fetch with as many Kubernetes requests as 1 (none, warm)`, async () => {
    const names = (team: string) => batchNames(team);
    await names('bulk'); // warm: the cache and the caller's access reviews
    entityFetches.length = 0;
    let bulk: string[] = [];
    const many = await counted(async () => {
      bulk = await names('bulk');
    });
    expect(bulk).toEqual(Array.from({ length: BULK }, (_, i) => `bulk-${i}:git`));
    expect(entityFetches).toEqual([BULK]);
    const one = await counted(async () => expect(await names('solo')).toEqual(['bulk-0:git']));
    expect(many).toEqual(one);
    expect(many).toEqual({});
  });

  it(`batches what it does not cache: ${BULK} representations cost one LIST, as 1 does`, async () => {
    // Only PipelineResource cached: bindings are read per request, one LIST per (kind, namespace); no bulk
    // resource is bound, so no pipeline is read.
    const uncached = await startGateway({ kinds: ['PipelineResource'] });
    const second = await startRouter(uncached.url);
    try {
      await batchNames('solo', second.url); // warm the cache and the caller's access reviews
      const many = await counted(async () => expect(await batchNames('bulk', second.url)).toHaveLength(BULK));
      const one = await counted(async () => expect(await batchNames('solo', second.url)).toEqual(['bulk-0:git']));
      expect(many).toEqual({ 'LIST resources.tekton.dev/resourcebindings': 1 });
      expect(many).toEqual(one);
    } finally {
      await second.server.stop();
      await uncached.stop();
    }
  });
});

/** Errors as `[code, path, message]`, in the order of their paths' last index (items resolve in any order). */
function byIndex(errors: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] | undefined) {
  return (errors ?? [])
    .map((e) => [e.extensions?.code, e.path, e.message] as const)
    .sort((a, b) => Number(a[1]?.at(-1)) - Number(b[1]?.at(-1)));
}
