import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyManifests, readManifests } from '../kube/applyManifests.js';
import { KubeClient } from '../kube/KubeClient.js';
import type { KubeObject } from '../kube/kinds.js';
import { ensureGoBinary, projectRoot } from './goBinary.js';

/**
 * Real Tekton beside the local control plane (docs/decisions/015-real-tekton.md):
 * the CRDs, roles and ConfigMaps of the Tekton Pipelines release in the Go
 * module that tools/tekton requires, Tekton's webhook and controller built from
 * that module, and kwok playing the kubelet of one simulated node.
 */

export const tektonModule = 'github.com/tektoncd/pipeline';
/** Tekton's own namespace, where its ConfigMaps, Secret and webhook Service live. */
export const tektonNamespace = 'tekton-pipelines';
const tektonToolDir = join(projectRoot, 'tools', 'tekton');
const kwokToolDir = join(projectRoot, 'tools', 'kwok');
const localManifestDir = join(projectRoot, 'deploy', 'local');
/** Annotation kube-testserver's egress proxy reads: a Service's port → a port on 127.0.0.1. */
const loopbackPortsAnnotation = 'kube-testserver.local/loopback-ports';

/** The Tekton Pipelines version tools/tekton/go.mod requires: one place to change it. */
export function tektonVersion(): string {
  const goMod = readFileSync(join(tektonToolDir, 'go.mod'), 'utf8');
  const version = new RegExp(`^\\s*${tektonModule.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(goMod)?.[1];
  if (!version) throw new Error(`tools/tekton/go.mod requires no ${tektonModule}`);
  return version;
}

let releaseDir: string | undefined;
/**
 * The module's folder in Go's module cache, downloaded through the module
 * proxy on first use (a few seconds; cached afterwards). Its config/ is the
 * release's manifests, its examples/ Tekton's examples.
 */
export function tektonModuleDir(version = tektonVersion()): string {
  if (version === tektonVersion() && releaseDir) return releaseDir;
  let out: string;
  try {
    out = execFileSync('go', ['mod', 'download', '-json', `${tektonModule}@${version}`], {
      cwd: tektonToolDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('Tekton Pipelines is taken from its Go module: Go ≥ 1.26 must be on PATH');
    }
    throw err;
  }
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${tektonModule}@${version}: ${info.Error ?? 'no folder'}`);
  if (version === tektonVersion()) releaseDir = info.Dir;
  return info.Dir;
}

/**
 * The release's manifests a cluster without Tekton's Deployments needs, in
 * order: its namespace, CRDs, aggregated edit/view roles, ConfigMaps, and the
 * webhook's Secret and (still rule-less) webhook configurations, which the
 * webhook fills in itself. The Deployments, their ServiceAccounts and roles
 * are left out: the webhook and controller run beside the apiserver, not in it.
 */
export function tektonManifests(): KubeObject[] {
  const config = join(tektonModuleDir(), 'config');
  const files = [
    join(config, '100-namespace', '100-namespace.yaml'),
    ...readdirSync(join(config, '300-crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(config, '300-crds', f)),
    join(config, 'clusterrole-aggregate-edit.yaml'),
    join(config, 'clusterrole-aggregate-view.yaml'),
    ...readdirSync(config)
      .filter((f) => f.startsWith('config-') && f.endsWith('.yaml'))
      .sort()
      .map((f) => join(config, f)),
    join(config, '500-webhooks.yaml'),
  ];
  return files.flatMap(readManifests);
}

/** The simulated node kwok serves (deploy/local/kwok-node.yaml). */
export const localNodeManifests = (): KubeObject[] => readManifests(join(localManifestDir, 'kwok-node.yaml'));

/** The webhook's Service from the release (webhook.yaml), mapped to the webhook's port on loopback. */
function webhookService(webhookPort: number): KubeObject {
  const service = readManifests(join(tektonModuleDir(), 'config', 'webhook.yaml')).find((o) => o.kind === 'Service');
  if (!service) throw new Error('the Tekton release has no webhook Service in config/webhook.yaml');
  service.metadata.annotations = { ...service.metadata.annotations, [loopbackPortsAnnotation]: `443=${webhookPort}` };
  return service;
}

const webhookConfigurations = [
  ['mutatingwebhookconfigurations', 'webhook.pipeline.tekton.dev'],
  ['validatingwebhookconfigurations', 'validation.webhook.pipeline.tekton.dev'],
  ['validatingwebhookconfigurations', 'config.webhook.pipeline.tekton.dev'],
] as const;

/** Controller images: names only, for the Pods Tekton writes; no container ever runs. */
const imageFlags = [
  '-entrypoint-image=ghcr.io/tektoncd/pipeline/entrypoint',
  '-nop-image=ghcr.io/tektoncd/pipeline/nop',
  '-sidecarlogresults-image=ghcr.io/tektoncd/pipeline/sidecarlogresults',
  '-workingdirinit-image=ghcr.io/tektoncd/pipeline/workingdirinit',
  '-shell-image=cgr.dev/chainguard/busybox',
  '-shell-image-win=mcr.microsoft.com/powershell:nanoserver',
];

export interface LocalTektonOptions {
  /** The admin kubeconfig of the local control plane. */
  kubeconfig: string;
  /** Where the three processes' logs go (`tekton-webhook.log`, `tekton-controller.log`, `kwok.log`). */
  logDir: string;
  logger: Logger;
  readyTimeoutMs?: number;
}

/**
 * Tekton's webhook and controller and kwok as child processes with the
 * admin's kubeconfig. Each holds a pipe on stdin and exits when it closes, so
 * they die with this process however it dies (docs/decisions/007).
 */
export class LocalTekton {
  private readonly children: { name: string; child: ChildProcess; exited: Promise<void> }[] = [];

  constructor(private readonly options: LocalTektonOptions) {}

  /** Builds the binaries into .tools/ when they are missing or stale; returns their paths. */
  static ensureBinaries(log: (line: string) => void = () => {}): { tekton: string; kwok: string } {
    const tekton = ensureGoBinary(
      {
        sourceDir: tektonToolDir,
        binary: join(projectRoot, '.tools', 'tekton-local'),
        override: 'TEKTON_LOCAL_BIN',
        describe: `Tekton Pipelines ${tektonVersion()} (webhook and controller)`,
      },
      log,
    );
    const kwok = ensureGoBinary(
      {
        sourceDir: kwokToolDir,
        binary: join(projectRoot, '.tools', 'kwok-local'),
        override: 'KWOK_LOCAL_BIN',
        describe: 'kwok (the simulated node)',
      },
      log,
    );
    return { tekton, kwok };
  }

  /**
   * Starts the webhook and waits until it admits (an invalid Pipeline is
   * refused by Tekton's validation), then the controller and kwok. The
   * release's manifests must be installed first (tektonManifests).
   */
  async start(): Promise<void> {
    const { logger, kubeconfig } = this.options;
    const bins = LocalTekton.ensureBinaries((line) => logger.warn(line));
    const client = clientFor(kubeconfig, logger);
    // A webhook configuration left by an earlier run still points at a webhook
    // that is gone: with failurePolicy Fail it would refuse Tekton's own
    // ConfigMaps. The release's rule-less ones are put back; the new webhook fills them.
    for (const [plural, name] of webhookConfigurations) {
      await client
        .request('DELETE', `/apis/admissionregistration.k8s.io/v1/${plural}/${name}`)
        .catch((err: unknown) => ignoreNotFound(err));
    }
    await applyManifests(
      client,
      tektonManifests().filter((o) => o.kind?.endsWith('WebhookConfiguration')),
    );
    const [webhookPort = 0, webhookMetrics = 0, webhookProfiling = 0, controllerMetrics = 0, controllerProfiling = 0] =
      await freePorts(5);
    await applyManifests(client, [webhookService(webhookPort)]);
    const common = {
      SYSTEM_NAMESPACE: tektonNamespace,
      KUBERNETES_MIN_VERSION: 'v1.28.0',
      CONFIG_LOGGING_NAME: 'config-logging',
      CONFIG_OBSERVABILITY_NAME: 'config-observability',
      CONFIG_FEATURE_FLAGS_NAME: 'feature-flags',
      METRICS_DOMAIN: 'tekton.dev/pipeline',
      METRICS_PROMETHEUS_HOST: '127.0.0.1',
    };
    this.spawn('tekton-webhook', bins.tekton, ['webhook', `--kubeconfig=${kubeconfig}`, '--disable-ha'], {
      ...common,
      CONFIG_LEADERELECTION_NAME: 'config-leader-election-webhook',
      WEBHOOK_PORT: String(webhookPort),
      WEBHOOK_SERVICE_NAME: 'tekton-pipelines-webhook',
      WEBHOOK_SECRET_NAME: 'webhook-certs',
      WEBHOOK_ADMISSION_CONTROLLER_NAME: 'webhook.pipeline.tekton.dev',
      METRICS_PROMETHEUS_PORT: String(webhookMetrics),
      PROFILING_PORT: String(webhookProfiling),
    });
    await this.untilAdmitting(client);
    this.spawn('tekton-controller', bins.tekton, ['controller', `--kubeconfig=${kubeconfig}`, '--disable-ha', ...imageFlags], {
      ...common,
      CONFIG_DEFAULTS_NAME: 'config-defaults',
      CONFIG_LEADERELECTION_NAME: 'config-leader-election-controller',
      CONFIG_SPIRE: 'config-spire',
      METRICS_PROMETHEUS_PORT: String(controllerMetrics),
      PROFILING_PORT: String(controllerProfiling),
    });
    await applyManifests(client, localNodeManifests());
    this.spawn(
      'kwok',
      bins.kwok,
      [
        `--kubeconfig=${kubeconfig}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--config=${join(localManifestDir, 'kwok-stages.yaml')}`,
      ],
      {},
    );
  }

  /** SIGTERM to each, SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.splice(0).map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killed);
        child.stdin?.destroy();
      }),
    );
  }

  private spawn(name: string, binary: string, args: string[], env: Record<string, string>): void {
    const log = openSync(join(this.options.logDir, `${name}.log`), 'a');
    const child = spawn(binary, args, { stdio: ['pipe', log, log], env: { ...process.env, ...env } });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.once('exit', (code, signal) => {
      if (this.children.some((c) => c.child === child))
        this.options.logger.error({ code, signal, log: join(this.options.logDir, `${name}.log`) }, `${name} exited`);
    });
    this.children.push({ name, child, exited });
  }

  /** Until an invalid Pipeline, created as a dry run, is refused by Tekton's webhook. */
  private async untilAdmitting(client: KubeClient): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    const invalid = {
      apiVersion: 'tekton.dev/v1',
      kind: 'Pipeline',
      metadata: { name: 'admission-probe', namespace: tektonNamespace },
      spec: { tasks: [{ name: 'Not_A_DNS_Label', taskRef: { name: 'x' } }] },
    };
    let last = '';
    while (Date.now() < deadline) {
      const exited = this.children.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
      if (exited)
        throw new Error(`${exited.name} exited before it admitted; see ${join(this.options.logDir, `${exited.name}.log`)}`);
      try {
        await client.request('POST', `/apis/tekton.dev/v1/namespaces/${tektonNamespace}/pipelines`, {
          body: invalid,
          query: { dryRun: 'All' },
        });
        last = 'an invalid Pipeline was admitted (the webhook has not registered yet)';
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (last.includes('validation.webhook.pipeline.tekton.dev')) return;
      }
      await delay(250);
    }
    throw new Error(`Tekton's webhook did not start admitting in time: ${last}`);
  }
}

function clientFor(kubeconfig: string, logger: Logger): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return new KubeClient({ kubeConfig: kc, logger });
}

function ignoreNotFound(err: unknown): void {
  if ((err as { status?: number }).status !== 404) throw err;
}

/** Ports free on loopback now, for processes that take theirs from the environment. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((done) => server.listen(0, '127.0.0.1', () => done(server)));
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}
