import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GatewayMetrics } from '../../src/metrics.js';
import { createNamespace, eventually } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/** Queries and mutations run compiled (graphql-jit); subscriptions never do (src/plugins/useCompiledExecution.ts). */
let gw: TestGateway;
let watched: string;
let other: string;
const removes: (() => Promise<void>)[] = [];

beforeAll(async () => {
  for (const prefix of ['jit-watched', 'jit-other']) {
    const { name, remove } = await createNamespace(prefix);
    removes.push(remove);
    if (prefix === 'jit-watched') watched = name;
    else other = name;
  }
  gw = await startGateway({ http: { compiledExecution: true } });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all(removes.map((remove) => remove()));
});

const counts = async (metrics: GatewayMetrics) => ({
  compilations: (await metrics.compiledOperations.get()).values[0]?.value ?? 0,
  compiledRuns: (await metrics.compiledExecutions.get()).values[0]?.value ?? 0,
});

it('runs a query compiled, compiling its document once however often it runs', async () => {
  await createObjects(watched, [gitResource('compiled')]);
  const query = `query Compiled($ns: String!) { pipelineResources(namespace: $ns) { totalCount edges { node { name } } } }`;
  const before = await counts(gw.metrics);
  const answers = [await gw.gql(query, { ns: watched }), await gw.gql(query, { ns: watched })];
  for (const res of answers) {
    expect(res).toEqual({ data: { pipelineResources: { totalCount: 1, edges: [{ node: { name: 'compiled' } }] } } });
  }
  expect(await counts(gw.metrics)).toEqual({
    compilations: before.compilations + 1,
    compiledRuns: before.compiledRuns + 2,
  });
});

it('never compiles a subscription: its inline filter holds, whatever variables the operation carries', async () => {
  const before = await counts(gw.metrics);
  // graphql-jit 0.8 would hand the field the operation's coerced variables (none declared: none) as its arguments, so
  // the inline `namespace` would be lost and every namespace's events would come (test/unit/compiledExecution.test.ts).
  const sub = collect<{ pipelineResourceEvents: { type: string; object: { name: string; namespace: string } | null } }>(
    gw.ws(),
    `subscription Inline { pipelineResourceEvents(namespace: "${watched}") { type object { name namespace } } }`,
    { namespace: other, name: 'elsewhere' },
  );
  await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
  await createObjects(other, [gitResource('elsewhere')]);
  await createObjects(watched, [gitResource('here')]);
  await createObjects(other, [gitResource('elsewhere-too')]);
  await createObjects(watched, [gitResource('here-too')]);
  await eventually(() => (sub.received.length >= 2 ? true : undefined));
  expect(sub.failure).toBeUndefined();
  expect(sub.received).toEqual([
    { pipelineResourceEvents: { type: 'ADDED', object: { name: 'here', namespace: watched } } },
    { pipelineResourceEvents: { type: 'ADDED', object: { name: 'here-too', namespace: watched } } },
  ]);
  await sub.dispose();
  expect(await counts(gw.metrics)).toEqual(before);
});

it('answers variables that do not coerce as yoga does: HTTP 400 with their location, not compiled', async () => {
  const before = await counts(gw.metrics);
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($n: Int) { pipelineResources(first: $n) { totalCount } }', variables: { n: 'many' } }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    errors: [
      {
        message: 'Variable "$n" got invalid value "many"; Int cannot represent non-integer value: "many"',
        locations: [{ line: 1, column: 7 }],
      },
    ],
  });
  expect(await counts(gw.metrics)).toEqual(before);
});
