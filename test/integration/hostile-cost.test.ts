import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { apiVersion, type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { maxRecordedResources, maxSlots, provenanceAnnotation } from '../../src/resources/tekton.js';
import { eventually, kubeClient } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { expectBystanderUnharmed, userToken, whileAttacking } from '../helpers/hostile.js';
import { createObjects, gitResource, pipeline } from '../helpers/objects.js';

/**
 * Issue 11, "One query kills it" and "So does a plain one": lists a tenant
 * controls (a run's provenance annotation, `nodes(ids:)`, `_entities`) are
 * weighed by what they can return before anything runs, annotation-derived
 * lists are cut where they are parsed, and the execution budget stops what
 * the estimate admitted but should not have (docs/security.md, "Cost").
 * alice works in her namespace, team-a; every object here carries `sfx`.
 */

const ns = 'team-a';
const sfx = randomBytes(3).toString('hex');
const repo = `repo-${sfx}`;
const runName = `provenance-${sfx}`;
const wide = `wide-${sfx}`;
const admin = kubeClient('admin');
const alice = userToken('alice');
const errorsOf = (r: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  r.errors?.map((e) => ({ code: e.extensions?.code, cost: e.extensions?.cost }));

let gw: TestGateway;

beforeAll(async () => {
  // The default limits, but enough tokens that a 6,000-id document reaches the cost rule (the default 3,000 refuse it at parse).
  gw = await startGateway({ auth: 'token', http: { query: { maxTokens: 20_000 } } });
  await createObjects(ns, [
    gitResource(repo),
    pipeline(wide, Object.fromEntries(Array.from({ length: maxSlots + 1 }, (_, i) => [`s${i}`, 'git']))),
  ]);
  // alice writes the hostile annotation herself: one resource, recorded 2,000 times.
  const entries = Array.from({ length: 2000 }, () => ({ slot: 'source', name: repo, type: 'git', resourceVersion: '1' }));
  await kubeClient('alice').request('POST', resourcePath(kinds.PipelineRun, ns), {
    body: {
      apiVersion: apiVersion(kinds.PipelineRun),
      kind: kinds.PipelineRun.kind,
      metadata: { name: runName, namespace: ns, annotations: { [provenanceAnnotation]: JSON.stringify(entries) } },
      spec: { pipelineRef: { name: `absent-${sfx}` } },
    },
  });
  await eventually(async () => {
    const r = await gw.gql(`{ pipelineRun(namespace: "${ns}", name: "${runName}") { name } }`, {}, alice);
    return r.data?.pipelineRun ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  for (const [kind, name] of [
    ['PipelineRun', runName],
    ['Pipeline', wide],
    ['PipelineResource', repo],
  ] as const) {
    await admin.request('DELETE', resourcePath(kinds[kind], ns, name)).catch(() => {});
  }
});

describe('a provenance annotation listing one resource 2,000 times', () => {
  it('is read up to its cap, and says how many entries it left out', async () => {
    const r = await gw.gql(
      `{ pipelineRun(namespace: "${ns}", name: "${runName}") { recordedResourcesOmitted resources { resourceName resource { name } } } }`,
      {},
      alice,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.pipelineRun.recordedResourcesOmitted).toBe(2000 - maxRecordedResources);
    expect(r.data.pipelineRun.resources).toEqual(
      Array.from({ length: maxRecordedResources }, () => ({ resourceName: repo, resource: { name: repo } })),
    );
  });

  it('makes the nested query of issue 11 cost what it can return: refused before it runs, bob unharmed', async () => {
    const twice = `{ pipelineRun(namespace: "${ns}", name: "${runName}") { resources { resource { runs { resources { resourceName } } } } } }`;
    const thrice = `{ pipelineRun(namespace: "${ns}", name: "${runName}") { resources { resource { runs { resources { resource { runs { resources { resourceName } } } } } } } } }`;
    // run 1 + 64 usages × (usage 1 + resource 1 + 100 runs × (run 1 + 64 usages))
    const twiceCost = 1 + 64 * (1 + 1 + 100 * (1 + 64));
    // the same, with the innermost usages each opening another resource and its 100 runs of 64 usages
    const thriceCost = 1 + 64 * (1 + 1 + 100 * (1 + 64 * (1 + 1 + 100 * (1 + 64))));
    const { result, bystander } = await whileAttacking(gw, async () => [
      await gw.gql(twice, {}, alice),
      await gw.gql(thrice, {}, alice),
    ]);
    expect([twiceCost, thriceCost]).toEqual([416_129, 2_663_225_729]);
    expect(result.map(errorsOf)).toEqual([
      [{ code: 'QUERY_TOO_COSTLY', cost: twiceCost }],
      [{ code: 'QUERY_TOO_COSTLY', cost: thriceCost }],
    ]);
    expect(result.every((r) => r.data === undefined)).toBe(true);
    expectBystanderUnharmed(bystander);
  });

  it('with the cost limit lifted, the cap keeps the nested query small and the default budget stops the deeper one', async () => {
    const open = await startGateway({ auth: 'token', http: { query: { maxCost: 1e12 } } });
    try {
      const twice = `{ pipelineRun(namespace: "${ns}", name: "${runName}") { resources { resource { runs { resources { resourceName } } } } } }`;
      const thrice = `{ pipelineRun(namespace: "${ns}", name: "${runName}") { resources { resource { runs { resources { resource { runs { resources { resourceName } } } } } } } } }`;
      const { result, bystander } = await whileAttacking(open, async () => [
        await open.gql(twice, {}, alice),
        await open.gql(thrice, {}, alice),
      ]);
      // 64 usages, each naming the one resource, whose one run again shows 64: 4,096 names, not 4,000,000.
      const usages = result[0]?.data.pipelineRun.resources as { resource: { runs: { resources: unknown[] }[] } }[];
      expect(result[0]?.errors).toBeUndefined();
      expect(usages).toHaveLength(64);
      expect(usages.flatMap((u) => u.resource.runs.flatMap((r) => r.resources))).toHaveLength(64 * 64);
      // One level deeper would be 64³ = 262,144 usages: past 100,000 objects, so it stops, with nothing built.
      expect(result[1]).toEqual({
        errors: [
          {
            message:
              'The operation resolved more than 100000 objects and was stopped. Ask for smaller pages or fewer nested lists.',
            extensions: { code: 'EXECUTION_BUDGET_EXCEEDED', maxObjects: 100_000 },
          },
        ],
      });
      expectBystanderUnharmed(bystander);
    } finally {
      await open.stop();
    }
  });

  it('runPipeline refuses a pipeline whose run would record more than the cap, and writes nothing', async () => {
    const before = await admin.request<KubeList>('GET', resourcePath(kinds.PipelineRun, ns));
    const r = await gw.gql(
      `mutation($input: RunPipelineInput!) { runPipeline(input: $input) {
        __typename ... on ValidationError { fieldErrors { path message } } } }`,
      { input: { namespace: ns, pipeline: wide } },
      alice,
    );
    expect(r.data.runPipeline).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [
        {
          path: 'input.pipeline',
          message: `pipeline ${wide} declares ${maxSlots + 1} slots; a run records at most ${maxRecordedResources} resources`,
        },
      ],
    });
    const after = await admin.request<KubeList>('GET', resourcePath(kinds.PipelineRun, ns));
    const runsOf = (l: KubeList) =>
      l.items.filter((o: KubeObject) => (o.spec as { pipelineRef?: { name?: string } })?.pipelineRef?.name === wide);
    expect(runsOf(after)).toEqual([]);
    expect(after.items.length).toBe(before.items.length);
    // Read, the pipeline shows the slots within the cap and how many it left out.
    const p = await gw.gql(`{ pipeline(namespace: "${ns}", name: "${wide}") { slotsOmitted slots { name } } }`, {}, alice);
    expect(p.data.pipeline.slotsOmitted).toBe(1);
    expect(p.data.pipeline.slots).toHaveLength(maxSlots);
  });
});

describe('nodes(ids:) with 6,000 ids', () => {
  const id = encodeGlobalID('Namespace', ns);
  const selection = '{ id ... on Namespace { name pipelineResources { name params { name value } } } }';
  // 6,000 × (namespace 1 + 100 resources × (resource 1 + 9 params))
  const cost = 6000 * (1 + 100 * (1 + 9));

  it('is refused with QUERY_TOO_COSTLY before it runs, inline or in a variable; bob unharmed', async () => {
    const ids = Array.from({ length: 6000 }, () => id);
    const inline = `{ nodes(ids: [${ids.map((i) => JSON.stringify(i)).join(',')}]) ${selection} }`;
    expect(inline.length).toBeGreaterThan(160_000);
    const { result, bystander } = await whileAttacking(gw, async () => [
      await gw.gql(inline, {}, alice),
      await gw.gql(`query($ids: [ID!]!) { nodes(ids: $ids) ${selection} }`, { ids }, alice),
      await gw.gql(`query($ids: [ID!]!) { nodes(ids: $ids) ${selection} }`, { ids }, userToken('mallory')),
    ]);
    expect(result.map(errorsOf)).toEqual([
      [{ code: 'QUERY_TOO_COSTLY', cost }],
      [{ code: 'QUERY_TOO_COSTLY', cost }],
      [{ code: 'QUERY_TOO_COSTLY', cost }],
    ]);
    expect(cost).toBe(6_006_000);
    expectBystanderUnharmed(bystander);
  });

  it('answers when the ids are few enough', async () => {
    const r = await gw.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [id, id, id] }, alice);
    expect(r).toEqual({ data: { nodes: [{ id }, { id }, { id }] } });
  });
});

describe('_entities with many representations', () => {
  const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on PipelineResource { name labels { key } } } }';
  const reps = (n: number) => Array.from({ length: n }, () => ({ __typename: 'PipelineResource', namespace: ns, name: repo }));

  it('is weighed by their number: 606 × 33 = 19,998 answers, 607 × 33 = 20,031 is refused', async () => {
    const ok = await gw.gql(query, { r: reps(606) }, alice);
    expect(ok.errors).toBeUndefined();
    expect(ok.data._entities).toEqual(Array.from({ length: 606 }, () => ({ name: repo, labels: [] })));
    const refused = await gw.gql(query, { r: reps(607) }, alice);
    expect(errorsOf(refused)).toEqual([{ code: 'QUERY_TOO_COSTLY', cost: 20_031 }]);
    expect(refused.data).toBeUndefined();
  });
});

describe('the execution budget', () => {
  // Admitted by the estimate (1 + 64 usages = 65), but not by a budget this small: what a wrong estimate would meet.
  const query = `{ pipelineRun(namespace: "${ns}", name: "${runName}") { resources { resourceName slot type resourceVersion } } }`;

  it('stops an admitted operation past its objects with EXECUTION_BUDGET_EXCEEDED', async () => {
    const small = await startGateway({ auth: 'token', http: { budget: { maxObjects: 50 } } });
    try {
      const r = await small.gql(query, {}, alice);
      expect(r).toEqual({
        errors: [
          {
            message: 'The operation resolved more than 50 objects and was stopped. Ask for smaller pages or fewer nested lists.',
            extensions: { code: 'EXECUTION_BUDGET_EXCEEDED', maxObjects: 50 },
          },
        ],
      });
      // At 65 objects the same operation answers in full.
      expect((await startAndAsk({ maxObjects: 65 })).data.pipelineRun.resources).toHaveLength(64);
    } finally {
      await small.stop();
    }
  });

  it("stops a subscription event past its objects with EXECUTION_BUDGET_EXCEEDED: the fan-out's executions are budgeted too", async () => {
    const small = await startGateway({ auth: 'token', http: { budget: { maxObjects: 50 } } });
    const client = small.ws(alice);
    const events: unknown[] = [];
    const dispose = client.subscribe(
      {
        query: `subscription { pipelineRunEvents(namespace: "${ns}", name: "${runName}", includeUnchanged: true) { type object { resources { resourceName } } } }`,
      },
      { next: (v) => void events.push(v), error: (err) => void events.push({ failed: String(err) }), complete: () => {} },
    );
    try {
      // Label the run until an event arrives (the subscription may not be live for the first write).
      const event = await eventually(async () => {
        await admin.request('PATCH', resourcePath(kinds.PipelineRun, ns, runName), {
          body: { metadata: { labels: { touched: randomBytes(3).toString('hex') } } },
          contentType: 'application/merge-patch+json',
        });
        return events[0];
      }, 20_000);
      expect(event).toEqual({
        errors: [
          {
            message: 'The operation resolved more than 50 objects and was stopped. Ask for smaller pages or fewer nested lists.',
            extensions: { code: 'EXECUTION_BUDGET_EXCEEDED', maxObjects: 50 },
          },
        ],
      });
    } finally {
      dispose();
      await client.dispose();
      await small.stop();
    }
  });

  it('stops an admitted operation whose response passes its bytes with RESPONSE_TOO_LARGE', async () => {
    const r = await startAndAsk({ maxResponseBytes: 2_000 });
    expect(r).toEqual({
      errors: [
        {
          message: 'The response passed 2000 bytes and was stopped. Ask for smaller pages or fewer fields.',
          extensions: { code: 'RESPONSE_TOO_LARGE', maxResponseBytes: 2000 },
        },
      ],
    });
  });

  async function startAndAsk(budget: { maxObjects?: number; maxResponseBytes?: number }) {
    const g = await startGateway({ auth: 'token', http: { budget } });
    try {
      return await g.gql(query, {}, alice);
    } finally {
      await g.stop();
    }
  }
});
