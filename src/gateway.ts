import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type App, type AppOptions, createApp } from './app.js';
import { type Config, isLoopback } from './config.js';
import { KubeClient } from './kube/KubeClient.js';
import { ResourceCache, type ResourceCacheOptions } from './kube/ResourceCache.js';
import { GatewayMetrics } from './metrics.js';
import { indexes } from './resources/indexes.js';
import { EventLog } from './subscriptions/EventLog.js';

/** One gateway: its server, its Kubernetes client, its watch cache and the metrics all three report to. */
export interface Gateway {
  app: App;
  kube: KubeClient;
  cache: ResourceCache;
  metrics: GatewayMetrics;
}

/** What is not a setting: the cluster's credentials, the logger, and the seams tests and benchmarks turn. */
export interface GatewayDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Tests and benchmarks only: the reflectors' timings (watch timeout, stall grace, backoff). */
  reflector?: ResourceCacheOptions['reflector'];
  /** Tests and benchmarks only: laid over what `config` gives the server, section by section. */
  overrides?: AppServerOverrides;
}

export type AppServerOverrides = { [K in keyof ServerOptions]?: DeepPartial<ServerOptions[K]> };
type ServerOptions = Omit<AppOptions, 'logger' | 'kube' | 'cache' | 'metrics'>;
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * The one place a gateway is wired from its settings: src/index.ts, the tests (test/helpers/gateway.ts) and the
 * benchmarks (bench/cluster.ts) all call it, so what they run is what ships. The KubeClient reports its requests
 * to the same metrics the server serves.
 */
export function buildGateway(config: Config, deps: GatewayDeps): Gateway {
  const { logger } = deps;
  const metrics = new GatewayMetrics({ operationNames: config.metricsOperationNames });
  const kube = new KubeClient({
    kubeConfig: deps.kubeConfig,
    logger,
    onResponse: (method, path, status) => metrics.kubeRequest(method, path, status),
  });
  const cache = new ResourceCache({
    client: kube,
    logger,
    kinds: config.cacheKinds,
    namespaces: config.namespaces,
    indexes,
    eventHistory: () => new EventLog({ maxEvents: config.limits.eventLogEvents, maxBytes: config.limits.eventLogBytes }),
    reflector: deps.reflector,
  });
  metrics.watch(cache);
  const app = createApp({ logger, kube, cache, metrics, ...overlay(serverOptions(config), deps.overrides ?? {}) });
  return { app, kube, cache, metrics };
}

/** What each setting means to the server. */
function serverOptions(config: Config): ServerOptions {
  const { limits } = config;
  return {
    auth: config.auth,
    // Local mode on loopback (anonymous by default): a DNS-rebinding page must not reach it. Bound elsewhere, local
    // mode takes tokens (parseConfig) and is reached by other names.
    loopbackHostsOnly: config.cluster.kind === 'local' && isLoopback(config.host),
    writeAs: config.writeAs,
    http: {
      introspection: config.introspection,
      compiledExecution: config.compiledExecution,
      corsOrigins: config.corsOrigins,
      persistedDocuments: config.persistedDocuments,
      maxBodyBytes: limits.maxBodyBytes,
      query: { maxDepth: limits.maxDepth, maxAliases: limits.maxAliases, maxTokens: limits.maxTokens, maxCost: limits.maxCost },
      budget: { maxObjects: limits.maxResolvedObjects, maxResponseBytes: limits.maxResponseBytes },
      rate: {
        burst: limits.rateBurst,
        perSecond: limits.ratePerSecond,
        costBurst: limits.rateCostBurst,
        costPerSecond: limits.rateCostPerSecond,
        subscribeBurst: limits.rateSubscribeBurst,
        subscribePerSecond: limits.rateSubscribePerSecond,
      },
      yaml: {
        maxBytes: limits.yamlMaxBytes,
        maxDepth: limits.yamlMaxDepth,
        maxAliases: limits.yamlMaxAliases,
        parseTimeoutMs: limits.yamlParseTimeoutMs,
      },
    },
    websocket: {
      maxMessageBytes: limits.wsMaxMessageBytes,
      maxConnections: limits.wsMaxConnections,
      maxConnectionsPerClient: limits.wsMaxConnectionsPerClient,
      maxSubscriptionsPerConnection: limits.wsMaxSubscriptions,
    },
    maxAccessReviews: limits.maxAccessReviews,
    reviewCache: { maxEntries: limits.accessReviewCacheEntries, maxBytes: limits.accessReviewCacheBytes },
    tokenCache: { maxEntries: limits.tokenCacheEntries, maxBytes: limits.tokenCacheBytes },
    authFailures: { maxFailures: limits.authFailuresPerClient, windowMs: limits.authFailureWindowMs },
    subscriptions: { maxPerUser: limits.maxSubscriptionsPerUser },
    sseWriteTimeoutMs: limits.sseWriteTimeoutMs,
    metricsAccess: { port: config.metricsPort, token: config.metricsToken },
    shutdownGraceMs: config.shutdownGraceMs,
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** `base` with `over` laid on it: plain objects merged key by key, anything else replaced; undefined keeps `base`. */
function overlay<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : (over as T);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = overlay(base[key], value);
  return out as T;
}
