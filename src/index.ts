import { KubeConfig } from '@kubernetes/client-node';
import { type Config, ConfigError, parseConfig } from './config.js';
import { buildGateway } from './gateway.js';
import type { LocalControlPlane } from './local/LocalControlPlane.js';
import { createLogger } from './logger.js';
import { startTracing } from './tracing.js';

async function loadKubeConfig(config: Config, plane: LocalControlPlane | undefined): Promise<KubeConfig> {
  const kc = new KubeConfig();
  switch (config.cluster.kind) {
    case 'kubeconfig':
      kc.loadFromFile(config.cluster.path);
      break;
    case 'kubeconfig-env':
      kc.loadFromDefault();
      break;
    case 'in-cluster':
      kc.loadFromCluster();
      break;
    case 'local':
      kc.loadFromFile((plane as LocalControlPlane).kubeconfig);
      break;
  }
  return kc;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tekton-resource-gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const stopTracing = config.otelEndpoint ? startTracing(config.otelEndpoint) : undefined;
  if (config.otelEndpoint) logger.info({ endpoint: config.otelEndpoint }, 'tracing to OTLP endpoint');
  let plane: LocalControlPlane | undefined;
  if (config.cluster.kind === 'local') {
    const { startLocalCluster } = await import('./local/localMode.js');
    plane = await startLocalCluster(config.cluster.dir, config.seed, logger);
  }
  if (config.auth === 'anonymous') {
    logger.warn(
      "anonymous access on loopback: callers without a token act with the local admin's rights; a bearer token acts as its user",
    );
  }
  const { app, kube } = buildGateway(config, { kubeConfig: await loadKubeConfig(config, plane), logger });
  logger.info({ cluster: config.cluster.kind, server: kube.server }, 'serving cluster');
  await app.start(config.port, config.host);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    try {
      await app.stop();
      await plane?.stop();
      await stopTracing?.();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  process.stderr.write(`tekton-resource-gateway: ${err instanceof Error ? err.message : String(err)}${cause}\n`);
  process.exit(1);
});
