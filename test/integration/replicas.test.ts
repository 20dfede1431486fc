import { afterAll, beforeAll, expect, it } from 'vitest';
import { watchCount } from '../helpers/apiserverMetrics.js';
import { createNamespace, eventually, kubeconfigPath } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';

/** Replicas share nothing but Kubernetes: each holds one watch per cached kind, and they answer alike. */
const gateways: TestGateway[] = [];
let ns: string;
let remove: () => Promise<void>;
const groups = ['tekton.dev', 'resources.tekton.dev'];

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('replicas'));
  await createObjects(ns, [
    gitResource('repo'),
    pipeline('build', { source: 'git' }),
    binding('build', 'build', { source: 'repo' }),
  ]);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await remove?.();
});

it('two replicas hold one watch per kind each and give the same answers', async () => {
  const before = await watchCount(kubeconfigPath(), { groups });
  gateways.push(await startGateway(), await startGateway());
  const kinds = gateways[0]?.cache.stats.length ?? 0;
  await eventually(async () => ((await watchCount(kubeconfigPath(), { groups })) === before + 2 * kinds ? true : undefined));
  const query = `{ pipelineResources(namespace: "${ns}", first: 10) { edges { node { name resourceVersion bindings { name } pipelines { name slots { name resource { name } } } } } } }`;
  const [a, b] = (await Promise.all(gateways.map((g) => g.gql(query)))) as [{ data?: any; errors?: unknown }, unknown];
  expect(a.errors).toBeUndefined();
  expect(a.data.pipelineResources.edges).toHaveLength(1);
  expect(b).toEqual(a);
});
