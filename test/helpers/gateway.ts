import { KubeConfig } from '@kubernetes/client-node';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { App, AppOptions } from '../../src/app.js';
import { type Config, parseConfig } from '../../src/config.js';
import { buildGateway } from '../../src/gateway.js';
import type { KindName } from '../../src/kube/kinds.js';
import type { ResourceCache, ResourceCacheOptions } from '../../src/kube/ResourceCache.js';
import type { ReadMode } from '../../src/loaders.js';
import type { GatewayMetrics } from '../../src/metrics.js';
import type { EventLogLimits } from '../../src/subscriptions/EventLog.js';
import type { SubscriptionLimits } from '../../src/subscriptions/limits.js';
import { kubeconfigPath, testLogger } from './cluster.js';
import { assertNoSecret } from './secrets.js';

export interface TestGateway {
  app: App;
  cache: ResourceCache;
  /** Its metrics, read in-process (what /metrics would show). */
  metrics: GatewayMetrics;
  url: string;
  /** The metrics port's /metrics, when the gateway was given one. */
  metricsUrl: string | undefined;
  /**
   * POSTs a GraphQL operation; returns the parsed body. `data` is untyped by
   * default: tests check GraphQL answers with assertions, not with types.
   */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<{ data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] }>;
  ws(token?: string): Client;
  stop(): Promise<void>;
}

/**
 * A real gateway on a free port against the test control plane. Its own
 * identity is the admin; with `auth: 'token'` callers authenticate as the test users.
 */
export async function startGateway(
  options: {
    auth?: 'token' | 'anonymous';
    readMode?: ReadMode;
    kinds?: KindName[];
    subscriptions?: Partial<SubscriptionLimits>;
    /** Each kind's event log (src/subscriptions/EventLog.ts); the defaults otherwise. */
    eventLog?: Partial<EventLogLimits>;
    /** Another cluster than the shared one (fault tests run their own). */
    kubeconfig?: string;
    reflector?: ResourceCacheOptions['reflector'];
    accessReviewTtlMs?: number;
    maxAccessReviews?: AppOptions['maxAccessReviews'];
    tokenCache?: AppOptions['tokenCache'];
    authFailures?: AppOptions['authFailures'];
    http?: AppOptions['http'];
    writeAs?: AppOptions['writeAs'];
    websocket?: AppOptions['websocket'];
    metricsAccess?: AppOptions['metricsAccess'];
    sseWriteTimeoutMs?: number;
    /** Distinct operation names kept as metric labels. */
    metricsOperationNames?: number;
    loopbackHostsOnly?: AppOptions['loopbackHostsOnly'];
  } = {},
): Promise<TestGateway> {
  const defaults = parseConfig([], {});
  // The settings production would parse, with the few a test names; the rest are seams laid over the server's options.
  const config: Config = {
    ...defaults,
    auth: options.auth ?? 'anonymous',
    writeAs: options.writeAs ?? defaults.writeAs,
    cacheKinds: options.kinds ?? defaults.cacheKinds,
    metricsOperationNames: options.metricsOperationNames ?? defaults.metricsOperationNames,
    shutdownGraceMs: 2_000,
    limits: {
      ...defaults.limits,
      eventLogEvents: options.eventLog?.maxEvents ?? defaults.limits.eventLogEvents,
      eventLogBytes: options.eventLog?.maxBytes ?? defaults.limits.eventLogBytes,
    },
  };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(options.kubeconfig ?? kubeconfigPath('admin'));
  const { app, cache, metrics } = buildGateway(config, {
    kubeConfig,
    logger: testLogger,
    reflector: options.reflector,
    overrides: {
      readMode: options.readMode,
      subscriptions: options.subscriptions,
      ...(options.accessReviewTtlMs ? { reviewCache: { ttlMs: options.accessReviewTtlMs } } : {}),
      maxAccessReviews: options.maxAccessReviews,
      tokenCache: options.tokenCache,
      authFailures: options.authFailures,
      loopbackHostsOnly: options.loopbackHostsOnly ?? false,
      // Tests send one caller's heavy queries back to back; the cost rate (a tenant's share of the process) is
      // lifted unless a test sets it, and tested on its own (abuse.test.ts).
      http: { ...options.http, rate: { costBurst: 1e12, costPerSecond: 1e12, ...options.http?.rate } },
      websocket: options.websocket,
      metricsAccess: options.metricsAccess,
      sseWriteTimeoutMs: options.sseWriteTimeoutMs,
    },
  });
  const { port, metricsPort } = await app.start(0, '127.0.0.1');
  await cache.synced();
  const url = `http://127.0.0.1:${port}/graphql`;
  const clients: Client[] = [];
  return {
    app,
    cache,
    metrics,
    url,
    metricsUrl: metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}/metrics`,
    async gql(query, variables, token) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      assertNoSecret(text);
      return JSON.parse(text);
    },
    ws(token) {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {}, // tests read failures from collect()
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
    },
  };
}

/** Collects a subscription's results until `count` have arrived. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const received: T[] = [];
  let failure: unknown;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        try {
          assertNoSecret(JSON.stringify(value));
        } catch (err) {
          failure = err;
        }
        if (value.errors) failure = value.errors;
        if (value.data) received.push(value.data as T);
      },
      error: (err) => {
        failure = err;
      },
      complete: () => {},
    },
  );
  return {
    received,
    get failure() {
      return failure;
    },
    dispose,
  };
}
