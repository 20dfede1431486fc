import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { App } from '../src/app.js';
import { type Config, parseConfig } from '../src/config.js';
import { buildGateway } from '../src/gateway.js';
import { KubeClient } from '../src/kube/KubeClient.js';
import type { KindName } from '../src/kube/kinds.js';
import type { ResourceCache } from '../src/kube/ResourceCache.js';
import type { ReadMode } from '../src/loaders.js';
import { LocalControlPlane } from '../src/local/LocalControlPlane.js';
import { clusterManifests, installManifests } from '../src/local/localMode.js';

/**
 * The control plane a benchmark runs against: the cluster TEST_KUBECONFIG names,
 * or a local one in a `.test-data-bench-*` folder (ignored by git, removed by
 * `make clean`), removed again by `stop()`. The CRDs are installed either way.
 */
export class BenchCluster {
  /** The admin's kubeconfig, loaded (client-node's reader in bench/query.ts takes it). */
  readonly kubeConfig = new KubeConfig();
  /** The admin's client, for seeding and clean-up. */
  readonly admin: KubeClient;

  private constructor(
    readonly kubeconfigPath: string,
    private readonly plane: LocalControlPlane | undefined,
    private readonly dataDir: string | undefined,
    logger: Logger,
  ) {
    this.kubeConfig.loadFromFile(kubeconfigPath);
    this.admin = new KubeClient({ kubeConfig: this.kubeConfig, logger });
  }

  get local(): boolean {
    return this.plane !== undefined;
  }

  static async open(root: string, logger: Logger, say: (line: string) => void): Promise<BenchCluster> {
    let cluster: BenchCluster;
    if (process.env.TEST_KUBECONFIG) {
      const path = resolve(process.env.TEST_KUBECONFIG);
      say(`using the cluster of TEST_KUBECONFIG=${path}`);
      cluster = new BenchCluster(path, undefined, undefined, logger);
    } else {
      const dataDir = mkdtempSync(join(root, '.test-data-bench-'));
      const plane = new LocalControlPlane({ dataDir });
      say(`starting the local control plane in ${dataDir}`);
      try {
        await plane.start();
      } catch (err) {
        await plane.stop();
        rmSync(dataDir, { recursive: true, force: true });
        throw err;
      }
      // Built once the control plane has written its kubeconfig.
      cluster = new BenchCluster(plane.kubeconfig, plane, dataDir, logger);
    }
    await installManifests(cluster.kubeconfigPath, clusterManifests(), logger);
    return cluster;
  }

  /** The machine and control plane a run measured, for its JSON and docs. */
  machine(kubeApiserver: string) {
    return {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      kubeApiserver,
      controlPlane: this.local ? 'local (tools/kube-testserver)' : 'TEST_KUBECONFIG',
    };
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
 * Gateways in this process, built by src/gateway.ts like the shipped one and the
 * tests' (anonymous: the kubeconfig's rights), each returned once its cache has synced; `stopAll`
 * stops whatever is still running (on Ctrl-C, say). In naive mode the cache
 * still runs, synced before anything is counted, but reads bypass it.
 */
export class GatewayPool {
  private readonly running = new Set<BenchGateway>();

  constructor(
    private readonly kubeconfigPath: string,
    private readonly logger: Logger,
    private readonly options: { kinds: KindName[]; syncTimeoutMs: number },
  ) {}

  async start(readMode: ReadMode = 'cached'): Promise<BenchGateway> {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(this.kubeconfigPath);
    const config: Config = { ...parseConfig([], {}), auth: 'anonymous', cacheKinds: this.options.kinds, shutdownGraceMs: 2_000 };
    const { app, cache } = buildGateway(config, {
      kubeConfig,
      logger: this.logger,
      // The query benchmark measures one caller's latency, not a tenant's share: the cost rate is lifted
      // (the hostile scenario runs its own gateway process with every default).
      overrides: { readMode, loopbackHostsOnly: false, http: { rate: { costBurst: 1e12, costPerSecond: 1e12 } } },
    });
    const { port } = await app.start(0, '127.0.0.1');
    const gw = { app, cache, url: `http://127.0.0.1:${port}/graphql` };
    this.running.add(gw);
    let timer: NodeJS.Timeout | undefined;
    const { syncTimeoutMs } = this.options;
    try {
      await Promise.race([
        cache.synced(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the cache did not sync in ${syncTimeoutMs / 1000} s`)), syncTimeoutMs);
        }),
      ]);
    } catch (err) {
      await this.stop(gw);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return gw;
  }

  async stop(gw: BenchGateway): Promise<void> {
    this.running.delete(gw);
    await gw.app.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((g) => this.stop(g).catch(() => {})));
  }
}
