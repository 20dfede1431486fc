import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestsOf } from '../helpers/apiserverMetrics.js';
import { createNamespace, kubeconfigPath } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { binding, createObjects, gitResource, pipeline } from '../helpers/objects.js';

/**
 * No N+1: the Kubernetes requests a query makes do not grow with the objects it
 * returns. Counted from the apiserver's own `apiserver_request_total` (non-WATCH
 * verbs, the project's API groups only), so nothing in the gateway can fake it.
 */
const groups = ['tekton.dev', 'resources.tekton.dev'];
const QUERY = /* GraphQL */ `
  query($ns: String!) {
    pipelineResources(namespace: $ns, first: 500) {
      edges { node { name type params { name value } bindings { name pipeline { name } } pipelines { name slots { name type } } runs { name } } }
    }
  }
`;

/**
 * QUERY asks for every edge of up to 500 resources: 390,501 by the cost rule, past the default limit by design
 * (docs/security.md, "Cost"). This file counts Kubernetes requests, so its gateways allow it.
 */
const roomy = { http: { query: { maxCost: 1_000_000 } } };

const namespaces: Record<number, string> = {};
const cleanups: (() => Promise<void>)[] = [];

/** `n` git resources; every tenth shares a pipeline, bound to all ten. */
async function seed(n: number): Promise<string> {
  const { name, remove } = await createNamespace(`nplus1-${n}`);
  cleanups.push(remove);
  const objects = [];
  for (let i = 0; i < n; i++) objects.push(gitResource(`repo-${i}`));
  for (let p = 0; p < n / 10; p++) {
    const slots = Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`s${j}`, 'git']));
    objects.push(pipeline(`pipeline-${p}`, slots));
    objects.push(
      binding(
        `pipeline-${p}`,
        `pipeline-${p}`,
        Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`s${j}`, `repo-${p * 10 + j}`])),
      ),
    );
  }
  await createObjects(name, objects);
  return name;
}

const counted = (run: () => Promise<unknown>) => requestsOf(kubeconfigPath(), { groups }, run);

const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);

async function query(gw: TestGateway, n: number) {
  const res = await gw.gql(QUERY, { ns: namespaces[n] });
  expect(res.errors).toBeUndefined();
  const nodes = res.data.pipelineResources.edges.map((e: { node: unknown }) => e.node);
  expect(nodes).toHaveLength(n);
  expect(
    nodes.every((r: { bindings: unknown[]; pipelines: unknown[] }) => r.bindings.length === 1 && r.pipelines.length === 1),
  ).toBe(true);
}

beforeAll(async () => {
  namespaces[10] = await seed(10);
  namespaces[200] = await seed(200);
}, 120_000);

afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

describe('Kubernetes requests per query', () => {
  it('are zero on a warm cache, for 10 and for 200 resources', async () => {
    const gw = await startGateway(roomy);
    try {
      await query(gw, 10); // warm
      expect(await counted(() => query(gw, 10))).toEqual({});
      expect(await counted(() => query(gw, 200))).toEqual({});
    } finally {
      await gw.stop();
    }
  });

  it('are a small constant on a cold start: one LIST per cached kind, whatever the size', async () => {
    // The cache LISTs each kind in pages of 500: what the whole cluster holds, not what the query returns.
    const pages: Record<string, number> = {};
    const cold = async (n: number) =>
      counted(async () => {
        const gw = await startGateway(roomy);
        try {
          await query(gw, n);
          for (const [kind, key] of [
            ['PipelineResource', 'LIST tekton.dev/pipelineresources'],
            ['ResourceBinding', 'LIST resources.tekton.dev/resourcebindings'],
            ['Pipeline', 'LIST tekton.dev/pipelines'],
            ['PipelineRun', 'LIST tekton.dev/pipelineruns'],
          ] as const) {
            pages[key] = Math.max(1, Math.ceil(gw.cache.kind(kind).size / 500));
          }
        } finally {
          await gw.stop();
        }
      });
    const small = await cold(10);
    expect(small).toEqual(pages);
    const large = await cold(200);
    expect(large).toEqual(small);
  });

  it('grow with the result without the cache and batching (the naive mode the benchmark compares against)', async () => {
    const gw = await startGateway({ ...roomy, readMode: 'naive' });
    try {
      const small = total(await counted(() => query(gw, 10)));
      const large = total(await counted(() => query(gw, 200)));
      expect(large).toBeGreaterThan(small * 10);
    } finally {
      await gw.stop();
    }
  });
});
