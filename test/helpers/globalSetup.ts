import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { KubeClient } from '../../src/kube/KubeClient.js';
import { LocalControlPlane } from '../../src/local/LocalControlPlane.js';
import { clusterManifests, installManifests, startTektonOn } from '../../src/local/localMode.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder holding `kubeconfig` (admin) and `users/<name>.kubeconfig`. */
    clusterDir: string;
  }
}

/**
 * One real control plane for the whole run (DESIGN.md section 7): the local
 * kube-apiserver + etcd with real Tekton and a simulated node, or the cluster
 * TEST_KUBECONFIG names. Each test file makes its own namespaces.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = pino({ level: 'warn' });
  const external = process.env.TEST_KUBECONFIG;
  let plane: LocalControlPlane | undefined;
  let clusterDir: string;
  let kubeconfig: string;
  if (external) {
    clusterDir = external.replace(/\/kubeconfig$/, '');
    kubeconfig = external;
    // A cluster of one's own is expected to run Tekton already.
    await installManifests(kubeconfig, clusterManifests(), logger);
  } else {
    clusterDir = mkdtempSync(join(process.cwd(), '.test-data-'));
    plane = new LocalControlPlane({ dataDir: clusterDir });
    await plane.start();
    kubeconfig = plane.kubeconfig;
    try {
      // Tekton's webhook admits and its controller reconciles what the tests write (LocalTekton.ts).
      await startTektonOn(plane, logger);
    } catch (err) {
      await plane.stop();
      throw err;
    }
  }

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const version = await new KubeClient({ kubeConfig: kc, logger }).request<{ gitVersion: string }>('GET', '/version');
  process.stdout.write(`integration tests against kube-apiserver ${version.gitVersion} at ${kc.getCurrentCluster()?.server}\n`);
  project.provide('clusterDir', clusterDir);

  return async () => {
    await plane?.stop();
    if (plane) rmSync(clusterDir, { recursive: true, force: true });
  };
}
