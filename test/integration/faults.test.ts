import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { apiVersion, kinds, resourcePath } from '../../src/kube/kinds.js';
import { LocalControlPlane } from '../../src/local/LocalControlPlane.js';
import { clusterManifests, installManifests } from '../../src/local/localMode.js';
import { clientFor, eventually, testLogger } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The stream survives an apiserver restart with nothing lost: this file runs a
 * control plane of its own, stops it in the middle of 500 writes and starts it
 * again on the same etcd data, while subscribers watch.
 */
const dir = mkdtempSync(join(process.cwd(), '.test-data-faults-'));
const plane = new LocalControlPlane({ dataDir: dir });
const ns = 'storm';
let gw: TestGateway;

interface Ev {
  type: string;
  resourceVersion: string;
  object: { name: string; resourceVersion: string } | null;
}

beforeAll(async () => {
  await plane.start();
  await installManifests(plane.kubeconfig, clusterManifests(), testLogger);
  await clientFor(plane.kubeconfig).request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  });
  gw = await startGateway({ kubeconfig: plane.kubeconfig, reflector: { backoff: { initialMs: 100, maxMs: 1_000 } } });
}, 240_000);

afterAll(async () => {
  await gw?.stop();
  await plane.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Retries a write until the apiserver takes it (it is down for a while); 404 and 409 are answers too. */
async function write(fn: () => Promise<unknown>): Promise<void> {
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404 || status === 409) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('an apiserver restart during 500 writes', () => {
  it('leaves every subscriber with the cluster’s state, each change delivered once', async () => {
    const subs = Array.from({ length: 5 }, () =>
      collect<{ pipelineResourceEvents: Ev }>(
        gw.ws(),
        `subscription { pipelineResourceEvents(namespace: "${ns}") { type resourceVersion object { name resourceVersion } } }`,
      ),
    );
    await eventually(() => (gw.cache.reflector('PipelineResource').listenerCount >= 5 ? true : undefined));

    const client = clientFor(plane.kubeconfig);
    const path = (name?: string) => resourcePath(kinds.PipelineResource, ns, name);
    const body = (name: string, i: number) => ({
      apiVersion: apiVersion(kinds.PipelineResource),
      kind: 'PipelineResource',
      metadata: { name },
      spec: { type: 'git', params: [{ name: 'url', value: `https://example.com/${name}/${i}` }] },
    });
    let restarted: Promise<void> | undefined;
    for (let i = 0; i < 500; i++) {
      const name = `r-${i % 40}`;
      if (i === 150) {
        // Stop and start again on the same data and port, while writes go on (and fail, and retry).
        restarted = plane.stop().then(() => plane.start());
      }
      const op = i % 5;
      if (op === 4) await write(() => client.request('DELETE', path(name)));
      else if (op === 3)
        await write(() =>
          client.request('PATCH', path(name), {
            body: { spec: { description: `v${i}` } },
            contentType: 'application/merge-patch+json',
          }),
        );
      else await write(() => client.request('POST', path(), { body: body(name, i) }));
    }
    await restarted;

    const cluster = await client.request<KubeList>('GET', path());
    const expected = new Map(cluster.items.map((o) => [o.metadata.name, o.metadata.resourceVersion]));
    for (const sub of subs) {
      const view = () => {
        const state = new Map<string, string | undefined>();
        for (const { pipelineResourceEvents: e } of sub.received) {
          if (!e.object) continue;
          if (e.type === 'DELETED') state.delete(e.object.name);
          else state.set(e.object.name, e.object.resourceVersion);
        }
        return state;
      };
      await eventually(
        () => (JSON.stringify([...view()].sort()) === JSON.stringify([...expected].sort()) ? true : undefined),
        60_000,
      );
      expect(sub.failure).toBeUndefined();
      const deliveries = sub.received.map(
        ({ pipelineResourceEvents: e }) => `${e.type} ${e.object?.name} ${e.object?.resourceVersion}`,
      );
      expect(new Set(deliveries).size).toBe(deliveries.length);
    }
    expect(gw.cache.ready).toBe(true);
    for (const sub of subs) sub.dispose();
  }, 240_000);
});
