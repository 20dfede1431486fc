import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Real Tekton in the loop (issue 12): runPipeline's PipelineRun is admitted by
 * Tekton's webhook, reconciled by Tekton's controller into TaskRuns and Pods,
 * and the simulated node (kwok, deploy/local/kwok-stages.yaml) takes the Pods
 * to Succeeded, or to Failed where a Task asks for it with the knob
 * `simulate.resources.tekton.dev/fail-step`.
 */

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;
const admin = kubeClient('admin');

const task = (name: string, steps: string[], annotations: Record<string, string> = {}) => ({
  apiVersion: 'tekton.dev/v1',
  kind: 'Task',
  metadata: { name, annotations },
  spec: { steps: steps.map((s) => ({ name: s, image: 'mirror.gcr.io/bash', script: `echo ${s}` })) },
});

const pipelineOf = (name: string, tasks: { name: string; task: string; runAfter?: string[] }[]) => ({
  apiVersion: 'tekton.dev/v1',
  kind: 'Pipeline',
  metadata: { name },
  spec: {
    description: `${name}, run for real`,
    tasks: tasks.map((t) => ({ name: t.name, taskRef: { name: t.task }, ...(t.runAfter ? { runAfter: t.runAfter } : {}) })),
  },
});

async function create(obj: { kind: string; metadata: { name: string } }): Promise<void> {
  const kind = kinds[obj.kind as 'Pipeline' | 'Task'];
  await admin.request('POST', resourcePath(kind, ns), { body: obj });
}

const RUN = /* GraphQL */ `
  mutation($input: RunPipelineInput!) {
    runPipeline(input: $input) {
      __typename
      ... on Error { message }
      ... on RunPipelineSuccess { run { name pipelineName status } }
    }
  }
`;

const RUN_STATE = /* GraphQL */ `
  query($name: String!, $namespace: String!) {
    pipelineRun(name: $name, namespace: $namespace) {
      status
      startTime
      completionTime
      conditions { type status reason message }
    }
  }
`;

interface RunState {
  status: string;
  startTime: string | null;
  completionTime: string | null;
  conditions: { type: string; status: string; reason: string | null; message: string | null }[];
}

const stateOf = async (name: string): Promise<RunState | null> => {
  const res = await gw.gql(RUN_STATE, { name, namespace: ns });
  expect(res.errors).toBeUndefined();
  return res.data.pipelineRun as RunState | null;
};

/** Starts pipeline `pipeline` through the graph, watching its run's events; waits until the run is finished. */
async function runToCompletion(pipeline: string) {
  const sub = collect<{ pipelineRunEvents: { type: string; object: { name: string; status: string } | null } }>(
    gw.ws(),
    `subscription { pipelineRunEvents(namespace: "${ns}", pipeline: "${pipeline}") { type object { name status } } }`,
  );
  const before = gw.cache.kind('PipelineRun').listenerCount;
  await eventually(() => (gw.cache.kind('PipelineRun').listenerCount > before || sub.failure ? true : undefined));
  const res = await gw.gql(RUN, { input: { namespace: ns, pipeline } });
  expect(res.errors).toBeUndefined();
  expect(res.data.runPipeline.__typename).toBe('RunPipelineSuccess');
  const name = res.data.runPipeline.run.name as string;
  expect(res.data.runPipeline.run.status).toBe('PENDING');
  const finished = await eventually(async () => {
    const state = await stateOf(name);
    return state && (state.status === 'SUCCEEDED' || state.status === 'FAILED') ? state : undefined;
  }, 90_000);
  // The subscription sees the run's last state too, then is closed.
  await eventually(() => (sub.received.some((e) => e.pipelineRunEvents.object?.status === finished.status) ? true : undefined));
  sub.dispose();
  const statuses = sub.received
    .map((e) => e.pipelineRunEvents)
    .filter((e) => e.object?.name === name)
    .map((e) => `${e.type} ${e.object?.status}`);
  return { name, finished, statuses };
}

/** Each distinct status in order of first appearance. */
const transitions = (statuses: string[]) => statuses.map((s) => s.split(' ')[1]).filter((s, i, all) => all.indexOf(s) === i);

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('tekton-runs'));
  await create(task('compile', ['fetch', 'build']));
  await create(task('check', ['test']));
  await create(task('broken', ['prepare', 'build', 'publish'], { 'simulate.resources.tekton.dev/fail-step': 'build' }));
  await create(
    pipelineOf('ship', [
      { name: 'compile', task: 'compile' },
      { name: 'check', task: 'check', runAfter: ['compile'] },
    ]),
  );
  await create(
    pipelineOf('ship-broken', [
      { name: 'compile', task: 'compile' },
      { name: 'publish', task: 'broken', runAfter: ['compile'] },
    ]),
  );
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

describe('runPipeline against real Tekton', () => {
  it('creates a run that Tekton reconciles to Succeeded, every transition seen by the graph and the subscription', async () => {
    const { name, finished, statuses } = await runToCompletion('ship');
    expect(finished.status).toBe('SUCCEEDED');
    const succeeded = finished.conditions.find((c) => c.type === 'Succeeded');
    expect(succeeded).toEqual({
      type: 'Succeeded',
      status: 'True',
      reason: 'Succeeded',
      message: 'Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0',
    });
    expect(finished.startTime).not.toBeNull();
    expect(finished.completionTime).not.toBeNull();
    expect(statuses[0]).toBe('ADDED PENDING');
    expect(transitions(statuses)).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);

    // Tekton made one TaskRun per pipeline task, each Succeeded, in runAfter order.
    const taskRuns = (
      await admin.request<KubeList>('GET', `/apis/tekton.dev/v1/namespaces/${ns}/taskruns`, {
        query: { labelSelector: `tekton.dev/pipelineRun=${name}` },
      })
    ).items as (KubeObject & { status: { conditions: { type: string; status: string; reason: string }[] } })[];
    expect(taskRuns.map((t) => t.metadata.labels?.['tekton.dev/pipelineTask']).sort()).toEqual(['check', 'compile']);
    for (const tr of taskRuns) {
      expect(tr.status.conditions.find((c) => c.type === 'Succeeded')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    }
  });

  it('a step failed with the simulation knob fails its TaskRun and the run, and the graph says why', async () => {
    const { name, finished, statuses } = await runToCompletion('ship-broken');
    expect(finished.status).toBe('FAILED');
    const failed = finished.conditions.find((c) => c.type === 'Succeeded');
    expect(failed?.status).toBe('False');
    expect(failed?.reason).toBe('Failed');
    expect(failed?.message).toBe(`Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0`);
    expect(transitions(statuses)).toEqual(['PENDING', 'RUNNING', 'FAILED']);
    const publish = await admin.request<
      KubeObject & { status: { conditions: { type: string; status: string; message: string }[] } }
    >('GET', `/apis/tekton.dev/v1/namespaces/${ns}/taskruns/${name}-publish`);
    expect(publish.status.conditions.find((c) => c.type === 'Succeeded')).toMatchObject({
      status: 'False',
      message: '"step-build" exited with code 1: Error',
    });
  });

  it("Tekton's webhook refuses an invalid Pipeline written straight to the apiserver", async () => {
    const err = await create({
      ...pipelineOf('bad', [{ name: 'Not_A_DNS_Label', task: 'compile' }]),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(400);
    expect((err as KubeApiError).message).toContain(
      'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request',
    );
    expect((err as KubeApiError).message).toContain('invalid value "Not_A_DNS_Label"');
  });
});
