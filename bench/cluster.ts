import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type App, createApp } from '../src/app.js';
import { KubeClient } from '../src/kube/KubeClient.js';
import type { KindName } from '../src/kube/kinds.js';
import { ResourceCache } from '../src/kube/ResourceCache.js';
import type { ReadMode } from '../src/loaders.js';
import { LocalControlPlane } from '../src/local/LocalControlPlane.js';
import { clusterManifests, installManifests } from '../src/local/localMode.js';

/**
 * The control plane a benchmark runs against: the cluster TEST_KUBECONFIG names,
 * or a local one in a `.test-data-bench-*` folder (ignored by git, removed by
 * `make clean`), removed again by `stop()`. The CRDs are installed either way.
 */
export class BenchCluster {
  private constructor(
    readonly kubeconfigPath: string,
    private readonly plane: LocalControlPlane | undefined,
    private readonly dataDir: string | undefined,
  ) {}

  get local(): boolean {
    return this.plane !== undefined;
  }

  static async open(root: string, logger: Logger, say: (line: string) => void): Promise<BenchCluster> {
    let cluster: BenchCluster;
    if (process.env.TEST_KUBECONFIG) {
      const path = resolve(process.env.TEST_KUBECONFIG);
      say(`using the cluster of TEST_KUBECONFIG=${path}`);
      cluster = new BenchCluster(path, undefined, undefined);
    } else {
      const dataDir = mkdtempSync(join(root, '.test-data-bench-'));
      const plane = new LocalControlPlane({ dataDir });
      cluster = new BenchCluster(plane.kubeconfig, plane, dataDir);
      say(`starting the local control plane in ${dataDir}`);
      try {
        await plane.start();
      } catch (err) {
        await cluster.stop();
        throw err;
      }
    }
    await installManifests(cluster.kubeconfigPath, clusterManifests(), logger);
    return cluster;
  }

  async stop(): Promise<void> {
    await this.plane?.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Runs `cleanup` once on Ctrl-C or SIGTERM, then exits 130. `on`, not `once`:
 * Ctrl-C reaches the process twice (from the terminal, and relayed by tsx's
 * parent), and a second, unhandled SIGINT would end it before the cleanup.
 * Returns the function that removes the handlers.
 */
export function onInterrupt(cleanup: () => Promise<void>, say: (line: string) => void): () => void {
  let interrupting = false;
  const interrupted = () => {
    if (interrupting) return;
    interrupting = true;
    say('interrupted; stopping');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  };
}

export interface BenchGateway {
  app: App;
  cache: ResourceCache;
  url: string;
}

/**
 * A gateway in this process, as test/helpers/gateway.ts starts one (anonymous:
 * the kubeconfig's rights), once its cache has synced. In naive mode the cache
 * still runs, synced before anything is counted, but reads bypass it.
 */
export async function startBenchGateway(
  kubeconfigPath: string,
  logger: Logger,
  options: { kinds: KindName[]; readMode?: ReadMode; syncTimeoutMs: number },
): Promise<BenchGateway> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const kube = new KubeClient({ kubeConfig: kc, logger });
  const cache = new ResourceCache({ client: kube, logger, kinds: options.kinds });
  const app = createApp({ logger, kube, cache, auth: 'anonymous', readMode: options.readMode, shutdownGraceMs: 2_000 });
  const { port } = await app.start(0, '127.0.0.1');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      cache.synced(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the cache did not sync in ${options.syncTimeoutMs / 1000} s`)),
          options.syncTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await app.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { app, cache, url: `http://127.0.0.1:${port}/graphql` };
}
