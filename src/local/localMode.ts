import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyManifests, readManifests } from '../kube/applyManifests.js';
import { KubeClient } from '../kube/KubeClient.js';
import { LocalControlPlane } from './LocalControlPlane.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The CRDs and RBAC the gateway needs, plus minimal Tekton CRDs and roles (Tekton itself is not installed locally). */
export function clusterManifests(): string[] {
  const dir = (d: string) =>
    readdirSync(join(root, d))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(root, d, f));
  return [
    ...dir('deploy/crds'),
    ...dir('deploy/rbac'),
    join(root, 'test/fixtures/tekton-crds.yaml'),
    join(root, 'test/fixtures/tekton-roles.yaml'),
  ];
}

export const exampleManifests = () => [join(root, 'deploy/examples/seed.yaml')];

export async function installManifests(kubeconfigPath: string, files: string[], logger: Logger): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = new KubeClient({ kubeConfig: kc, logger });
  await applyManifests(client, files.flatMap(readManifests));
}

/** Starts (or resumes) the local control plane in `dir`, installs the CRDs and, if asked, seeds examples. */
export async function startLocalCluster(dir: string, seed: boolean, logger: Logger): Promise<LocalControlPlane> {
  const plane = new LocalControlPlane({ dataDir: dir, log: (line) => logger.warn(line) });
  logger.info({ dir }, 'starting the local control plane (kube-apiserver + etcd)');
  await plane.start();
  try {
    await installManifests(plane.kubeconfig, clusterManifests(), logger);
    if (seed) await installManifests(plane.kubeconfig, exampleManifests(), logger);
  } catch (err) {
    await plane.stop();
    throw err;
  }
  logger.info({ kubeconfig: plane.kubeconfig }, 'local control plane ready; users: admin, alice, bob, mallory (see users/)');
  return plane;
}
