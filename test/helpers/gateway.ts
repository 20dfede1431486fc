import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type App, type AppOptions, createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { SubscriptionLimits } from '../../src/context.js';
import type { KindName } from '../../src/kube/kinds.js';
import { ResourceCache, type ResourceCacheOptions } from '../../src/kube/ResourceCache.js';
import type { ReadMode } from '../../src/loaders.js';

/** The gateway's default cached kinds, as configured for production. */
const defaultKinds = parseConfig([], {}).cacheKinds;

import { GatewayMetrics } from '../../src/metrics.js';
import { clientFor, kubeconfigPath, testLogger } from './cluster.js';
import { assertNoSecret } from './secrets.js';

export interface TestGateway {
  app: App;
  cache: ResourceCache;
  url: string;
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
    eventLogSize?: number;
    /** Another cluster than the shared one (fault tests run their own). */
    kubeconfig?: string;
    reflector?: ResourceCacheOptions['reflector'];
    accessReviewTtlMs?: number;
    http?: AppOptions['http'];
    writeAs?: AppOptions['writeAs'];
  } = {},
): Promise<TestGateway> {
  const metrics = new GatewayMetrics();
  const kube = clientFor(options.kubeconfig ?? kubeconfigPath('admin'), (method, path, status) =>
    metrics.kubeRequest(method, path, status),
  );
  const cache = new ResourceCache({
    client: kube,
    logger: testLogger,
    kinds: options.kinds ?? defaultKinds,
    eventLogSize: options.eventLogSize,
    reflector: options.reflector,
  });
  metrics.watch(cache);
  const app = createApp({
    logger: testLogger,
    kube,
    cache,
    auth: options.auth ?? 'anonymous',
    readMode: options.readMode,
    subscriptions: options.subscriptions,
    accessReviewTtlMs: options.accessReviewTtlMs,
    writeAs: options.writeAs,
    metrics,
    http: options.http,
    shutdownGraceMs: 2_000,
  });
  const { port } = await app.start(0, '127.0.0.1');
  await cache.synced();
  const url = `http://127.0.0.1:${port}/graphql`;
  const clients: Client[] = [];
  return {
    app,
    cache,
    url,
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
