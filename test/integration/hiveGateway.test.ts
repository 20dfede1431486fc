import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime, getGraphQLWSOptions } from '@graphql-hive/gateway-runtime';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Hive Gateway (its runtime, `@graphql-hive/gateway-runtime`, which the `hive-gateway` CLI serves) as the router,
 * configured as docs/federation.md shows: this gateway in token mode and a second subgraph ("teams"), composed;
 * queries joining both ways, a mutation, and a subscription through the router to this subgraph over SSE and over
 * graphql-ws, each carrying the caller's token.
 */
const token = JSON.parse(readFileSync(kubeconfigPath('alice'), 'utf8')).users[0].user.token as string;
const namespace = 'team-a'; // alice edits team-a
const suffix = randomBytes(3).toString('hex');
const owned = `hive-${suffix}`;
const admin = kubeClient('admin');

const TEAMS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  "A team that owns resources."
  type Team @key(fields: "name") {
    name: String!
    "Resources it owns; null where tekton has none the caller may read."
    pipelineResources: [PipelineResource]!
  }

  type PipelineResource @key(fields: "namespace name") {
    namespace: String!
    name: String!
    "The team that owns it; null when none does."
    owner: Team
  }

  type Query {
    team(name: String!): Team
  }
`;

function teamsSubgraph() {
  const team = { name: 'platform', resources: [owned] };
  return buildSubgraphSchema({
    typeDefs: parse(TEAMS_SDL),
    resolvers: {
      Query: { team: (_: unknown, args: { name: string }) => (args.name === team.name ? team : null) },
      Team: { pipelineResources: (t: typeof team) => t.resources.map((name) => ({ namespace, name })) },
      PipelineResource: {
        owner: (key: { namespace: string; name: string }) =>
          key.namespace === namespace && team.resources.includes(key.name) ? team : null,
      },
    },
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** What graphql-ws's `ws` server puts in a context's `extra`. */
type Extra = { request: IncomingMessage; socket: WebSocket };

let tekton: TestGateway;
let teams: Server;
let supergraph: string;
const routers: Server[] = [];

/** Hive Gateway over the supergraph, forwarding the caller's token; subscriptions to tekton over `subscriptions`. */
async function startHive(subscriptions: 'sse' | 'ws'): Promise<string> {
  const gateway = createGatewayRuntime({
    supergraph,
    logging: process.env.HIVE_LOG ? 'debug' : false,
    // Every subgraph request carries the caller's Authorization header (queries, mutations, SSE subscriptions).
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? '' }),
    },
    ...(subscriptions === 'ws'
      ? {
          transportEntries: {
            tekton: {
              options: {
                subscriptions: {
                  kind: 'ws',
                  location: '/graphql',
                  // graphql-ws has no headers: the token rides in connection_init, as the gateway expects it.
                  options: { connectionParams: { authorization: '{context.headers.authorization}' } },
                },
              },
            },
          },
        }
      : {}),
  });
  const server = createServer(gateway);
  // Clients may subscribe over graphql-ws too (the hive-gateway CLI does this wiring itself). graphql-ws has no
  // headers: the request that headers are propagated from carries the token of connection_init.
  const sockets = new WebSocketServer({ server, path: '/graphql' });
  useServer(
    getGraphQLWSOptions(gateway, (ctx) => ({
      req: (ctx.extra as Extra).request,
      socket: (ctx.extra as Extra).socket,
      request: new Request('http://router/graphql', {
        headers: { authorization: String(ctx.connectionParams?.authorization ?? '') },
      }),
    })),
    sockets,
  );
  server.once('close', () => sockets.close());
  routers.push(server);
  return listen(server);
}

beforeAll(async () => {
  await admin.request('POST', resourcePath(kinds.PipelineResource, namespace), {
    body: {
      apiVersion: 'tekton.dev/v1alpha1',
      kind: 'PipelineResource',
      metadata: { name: owned },
      spec: { type: 'git', params: [{ name: 'url', value: 'https://example.com/hive.git' }] },
    },
  });
  tekton = await startGateway({ auth: 'token' });
  teams = createServer(createYoga({ schema: teamsSubgraph(), graphqlEndpoint: '/graphql', logging: false }));
  const teamsUrl = await listen(teams);
  const sdl = async (url: string, authorization?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    return ((await res.json()) as { data: { _service: { sdl: string } } }).data._service.sdl;
  };
  const composed = composeServices([
    { name: 'tekton', url: tekton.url, typeDefs: parse(await sdl(tekton.url, `Bearer ${token}`)) },
    { name: 'teams', url: teamsUrl, typeDefs: parse(await sdl(teamsUrl)) },
  ]);
  expect(composed.errors?.map(String) ?? []).toEqual([]);
  supergraph = composed.supergraphSdl ?? '';
}, 120_000);

afterAll(async () => {
  for (const server of routers) server.closeAllConnections();
  await Promise.all(routers.map((s) => new Promise((r) => s.close(r))));
  await new Promise((r) => (teams ? teams.close(r) : r(undefined)));
  await tekton?.stop();
  for (const name of [owned, `${owned}-new`]) {
    await admin.request('DELETE', resourcePath(kinds.PipelineResource, namespace, name)).catch(() => {});
  }
});

async function routed(url: string, query: string, variables: Record<string, unknown> = {}, bearer: string | null = token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** A subscription through the router over SSE; resolves with the first event's data. */
async function firstEvent(url: string, query: string, write: () => Promise<void>): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  // The router subscribes upstream when it will: a write each second until an event arrives.
  const writes = setInterval(() => void write(), 1_000);
  const deadline = setTimeout(() => void reader.cancel(), 30_000);
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`stream ended without an event: ${text}`);
      text += decoder.decode(chunk.value, { stream: true });
      const data = /(?:^|\n)data: (\{.*\})\n/.exec(text)?.[1];
      if (data) return JSON.parse(data);
    }
  } finally {
    clearInterval(writes);
    clearTimeout(deadline);
    await reader.cancel().catch(() => {});
  }
}

describe('Hive Gateway as the router', () => {
  let hive: string;
  beforeAll(async () => {
    hive = await startHive('sse');
  });

  it('joins both ways: starts here and pulls the owner; starts in teams and pulls our fields, as the caller', async () => {
    const here = await routed(
      hive,
      `{ pipelineResource(namespace: "${namespace}", name: "${owned}") { name type owner { name } } }`,
    );
    expect(here).toEqual({ data: { pipelineResource: { name: owned, type: 'git', owner: { name: 'platform' } } } });
    const there = await routed(hive, '{ team(name: "platform") { name pipelineResources { name type params { name value } } } }');
    expect(there).toEqual({
      data: {
        team: {
          name: 'platform',
          pipelineResources: [{ name: owned, type: 'git', params: [{ name: 'url', value: 'https://example.com/hive.git' }] }],
        },
      },
    });
  });

  it('forwards the token: without one, the subgraph says UNAUTHENTICATED through the router', async () => {
    const res = await routed(hive, `{ pipelineResource(namespace: "${namespace}", name: "${owned}") { name } }`, {}, null);
    expect(res.data?.pipelineResource ?? null).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('runs a mutation as the caller', async () => {
    const res = await routed(
      hive,
      'mutation($input: CreatePipelineResourceInput!) { createPipelineResource(input: $input) { __typename ... on CreatePipelineResourceSuccess { resource { name namespace } } } }',
      {
        input: { namespace, name: `${owned}-new`, type: 'git', params: [{ name: 'url', value: 'https://example.com/new.git' }] },
      },
    );
    expect(res).toEqual({
      data: {
        createPipelineResource: { __typename: 'CreatePipelineResourceSuccess', resource: { name: `${owned}-new`, namespace } },
      },
    });
  });

  for (const upstream of ['sse', 'ws'] as const) {
    it(`streams a subscription through the router, upstream over ${upstream}, with the caller's token`, async () => {
      const url = upstream === 'sse' ? hive : await startHive('ws');
      let n = 0;
      const event = await firstEvent(
        url,
        `subscription { pipelineResourceEvents(namespace: "${namespace}", name: "${owned}") { type object { name labels { value } } } }`,
        async () => {
          n++;
          await admin.request('PATCH', resourcePath(kinds.PipelineResource, namespace, owned), {
            body: { metadata: { labels: { [`${upstream}-try`]: String(n) } } },
            contentType: 'application/merge-patch+json',
          });
        },
      );
      expect(event).toMatchObject({ data: { pipelineResourceEvents: { type: 'MODIFIED', object: { name: owned } } } });
    });
  }

  it("streams a subscription from a graphql-ws client through the router, upstream over ws, with the caller's token", async () => {
    const url = await startHive('ws');
    // The runtime loads its supergraph on the first HTTP request; a socket alone does not (the CLI loads it at start).
    expect(await routed(url, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    const client = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    const events: unknown[] = [];
    let failure: unknown;
    const dispose = client.subscribe(
      { query: `subscription { pipelineResourceEvents(namespace: "${namespace}", name: "${owned}") { type object { name } } }` },
      {
        next: (e) => void events.push(e),
        error: (e) => {
          failure = e;
        },
        complete: () => {},
      },
    );
    try {
      // The router subscribes upstream when it will: a write each second until an event arrives.
      for (let n = 1; n <= 30 && events.length === 0 && failure === undefined; n++) {
        await admin.request('PATCH', resourcePath(kinds.PipelineResource, namespace, owned), {
          body: { metadata: { labels: { 'client-ws-try': String(n) } } },
          contentType: 'application/merge-patch+json',
        });
        await eventually(() => (events.length || failure !== undefined ? true : undefined), 1_000).catch(() => undefined);
      }
      expect(failure).toBeUndefined();
      expect(events[0]).toEqual({ data: { pipelineResourceEvents: { type: 'MODIFIED', object: { name: owned } } } });
    } finally {
      dispose();
      await client.dispose();
    }
  });
});
