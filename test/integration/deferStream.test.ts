// The browser build takes a fetch Response (the default one, Node's IncomingMessage).
import { meros } from 'meros/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';

/**
 * @defer and @stream on the expensive edges (a resource's pipelines and bindings, the resource graph), read as
 * clients read them: meros (the multipart parser of Relay's and urql's fetchers) over HTTP `multipart/mixed`, and the
 * graphql-ws client over a WebSocket. The first payload comes without the deferred part; the rest follows.
 */
let gw: TestGateway;
let ns: string;
let removeNamespace: () => Promise<void>;

beforeAll(async () => {
  ({ name: ns, remove: removeNamespace } = await createNamespace('defer'));
  await createObjects(ns, [
    gitResource('app-repo'),
    gitResource('docs-repo'),
    pipeline('build', { source: 'git' }),
    binding('build', 'build', { source: 'app-repo' }),
  ]);
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  await removeNamespace?.();
});

const query = (namespace: string) => /* GraphQL */ `
  query Deferred {
    pipelineResource(namespace: "${namespace}", name: "app-repo") {
      name
      ... @defer(label: "usage") { pipelines { name } bindings { name } }
    }
    pipelineResources(namespace: "${namespace}", first: 10) { edges @stream(initialCount: 1) { node { name } } }
  }
`;

describe('@defer and @stream', () => {
  it('answers over HTTP multipart/mixed in parts, parsed by meros', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
      body: JSON.stringify({ query: query(ns) }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    const parts = await meros<Record<string, unknown>>(res);
    if (!(Symbol.asyncIterator in Object(parts))) throw new Error('not a multipart answer');
    const bodies: unknown[] = [];
    for await (const part of parts as AsyncIterable<{ body: unknown; json: boolean }>) bodies.push(part.body);
    expect(bodies[0]).toEqual({
      data: { pipelineResource: { name: 'app-repo' }, pipelineResources: { edges: [{ node: { name: 'app-repo' } }] } },
      hasNext: true,
    });
    // The rest, in whatever order they resolved: the deferred usage and the streamed second edge.
    const incremental = bodies.slice(1).flatMap((b) => (b as { incremental?: unknown[] }).incremental ?? []);
    expect(incremental).toEqual(
      expect.arrayContaining([
        { data: { pipelines: [{ name: 'build' }], bindings: [{ name: 'build' }] }, path: ['pipelineResource'], label: 'usage' },
        { items: [{ node: { name: 'docs-repo' } }], path: ['pipelineResources', 'edges', 1] },
      ]),
    );
    expect(incremental).toHaveLength(2);
    expect(bodies.at(-1)).toMatchObject({ hasNext: false });
  });

  it('answers over graphql-ws as several results, the client sees each', async () => {
    const client = gw.ws();
    const results: unknown[] = [];
    await new Promise<void>((resolve, reject) =>
      client.subscribe({ query: query(ns) }, { next: (r) => void results.push(r), error: reject, complete: resolve }),
    );
    expect(results[0]).toEqual({
      data: { pipelineResource: { name: 'app-repo' }, pipelineResources: { edges: [{ node: { name: 'app-repo' } }] } },
      hasNext: true,
    });
    const incremental = results.slice(1).flatMap((b) => (b as { incremental?: unknown[] }).incremental ?? []);
    expect(incremental).toHaveLength(2);
    expect(results.at(-1)).toMatchObject({ hasNext: false });
  });
});
