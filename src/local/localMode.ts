import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyManifests, readManifests } from '../kube/applyManifests.js';
import { KubeClient } from '../kube/KubeClient.js';
import type { KubeObject } from '../kube/kinds.js';
import { projectRoot } from './goBinary.js';
import { LocalControlPlane } from './LocalControlPlane.js';
import { LocalTekton, tektonManifests } from './LocalTekton.js';

/** The gateway's CRDs and RBAC (deploy/), then the Tekton release's CRDs, roles and ConfigMaps (LocalTekton.ts). */
export function clusterManifests(): KubeObject[] {
  const dir = (d: string) =>
    readdirSync(join(projectRoot, d))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => readManifests(join(projectRoot, d, f)));
  return [...dir('deploy/crds'), ...dir('deploy/rbac'), ...tektonManifests()];
}

export const exampleManifests = (): KubeObject[] => readManifests(join(projectRoot, 'deploy/examples/seed.yaml'));

export async function installManifests(kubeconfigPath: string, objects: KubeObject[], logger: Logger): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = new KubeClient({ kubeConfig: kc, logger });
  await applyManifests(client, objects);
}

/**
 * Starts (or resumes) the local control plane in `dir`, installs the CRDs,
 * starts Tekton (webhook, controller, simulated node) and, if asked, seeds
 * examples. Stopping the plane stops Tekton first.
 */
export async function startLocalCluster(dir: string, seed: boolean, logger: Logger): Promise<LocalControlPlane> {
  const plane = new LocalControlPlane({ dataDir: dir, log: (line) => logger.warn(line) });
  logger.info({ dir }, 'starting the local control plane (kube-apiserver + etcd, Tekton, a simulated node)');
  await plane.start();
  try {
    await startTektonOn(plane, logger);
    if (seed) await installManifests(plane.kubeconfig, exampleManifests(), logger);
  } catch (err) {
    await plane.stop();
    throw err;
  }
  logger.info({ kubeconfig: plane.kubeconfig }, 'local control plane ready; users: admin, alice, bob, mallory (see users/)');
  return plane;
}

/** Installs clusterManifests() on a started plane and runs Tekton beside it until the plane stops. */
export async function startTektonOn(plane: LocalControlPlane, logger: Logger): Promise<LocalTekton> {
  await installManifests(plane.kubeconfig, clusterManifests(), logger);
  const tekton = new LocalTekton({ kubeconfig: plane.kubeconfig, logDir: plane.dataDir, logger });
  plane.beforeStop(() => tekton.stop());
  await tekton.start();
  return tekton;
}
