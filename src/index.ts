import { KubeConfig } from '@kubernetes/client-node';
import { createApp } from './app.js';
import { type Config, ConfigError, isLoopback, parseConfig } from './config.js';
import { KubeClient } from './kube/KubeClient.js';
import { ResourceCache } from './kube/ResourceCache.js';
import type { LocalControlPlane } from './local/LocalControlPlane.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { EventLog } from './subscriptions/EventLog.js';
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
  const metrics = new GatewayMetrics({ operationNames: config.metrics.operationNames });
  const kube = new KubeClient({
    kubeConfig: await loadKubeConfig(config, plane),
    logger,
    onResponse: (method, path, status) => metrics.kubeRequest(method, path, status),
  });
  logger.info({ cluster: config.cluster.kind, server: kube.server }, 'serving cluster');
  const cache = new ResourceCache({
    client: kube,
    logger,
    kinds: config.cacheKinds,
    namespaces: config.namespaces,
    eventHistory: () => new EventLog({ maxEvents: config.limits.eventLogEvents, maxBytes: config.limits.eventLogBytes }),
  });
  metrics.watch(cache);
  const app = createApp({
    logger,
    kube,
    cache,
    auth: config.auth,
    // Local mode on loopback (anonymous by default): a DNS-rebinding page must not reach it. Bound elsewhere, local
    // mode takes tokens (parseConfig) and is reached by other names.
    loopbackHostsOnly: config.cluster.kind === 'local' && isLoopback(config.host),
    writeAs: config.writeAs,
    metrics,
    http: {
      introspection: config.introspection,
      corsOrigins: config.corsOrigins,
      maxBodyBytes: config.limits.maxBodyBytes,
      persistedDocuments: config.persistedDocuments,
      query: {
        maxDepth: config.limits.maxDepth,
        maxAliases: config.limits.maxAliases,
        maxTokens: config.limits.maxTokens,
        maxCost: config.limits.maxCost,
      },
      budget: { maxObjects: config.limits.maxResolvedObjects, maxResponseBytes: config.limits.maxResponseBytes },
      rate: {
        burst: config.limits.rateBurst,
        perSecond: config.limits.ratePerSecond,
        costBurst: config.limits.rateCostBurst,
        costPerSecond: config.limits.rateCostPerSecond,
      },
      yaml: {
        maxBytes: config.limits.yamlMaxBytes,
        maxDepth: config.limits.yamlMaxDepth,
        maxAliases: config.limits.yamlMaxAliases,
        parseTimeoutMs: config.limits.yamlParseTimeoutMs,
      },
    },
    websocket: {
      maxMessageBytes: config.limits.wsMaxMessageBytes,
      maxConnections: config.limits.wsMaxConnections,
      maxConnectionsPerClient: config.limits.wsMaxConnectionsPerClient,
      maxSubscriptionsPerConnection: config.limits.wsMaxSubscriptions,
    },
    maxAccessReviews: config.limits.maxAccessReviews,
    reviewCache: { maxEntries: config.limits.accessReviewCacheEntries, maxBytes: config.limits.accessReviewCacheBytes },
    tokenCache: { maxEntries: config.limits.tokenCacheEntries, maxBytes: config.limits.tokenCacheBytes },
    authFailures: { maxFailures: config.limits.authFailuresPerClient, windowMs: config.limits.authFailureWindowMs },
    subscriptions: { maxPerUser: config.limits.maxSubscriptionsPerUser },
    sseWriteTimeoutMs: config.limits.sseWriteTimeoutMs,
    metricsAccess: { port: config.metrics.port, token: config.metrics.token },
    shutdownGraceMs: config.shutdownGraceMs,
  });
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
