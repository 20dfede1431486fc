import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describeRequest } from './kube/kinds.js';
import type { ResourceCache } from './kube/ResourceCache.js';

/**
 * The gateway's Prometheus metrics, one registry per process (tests build
 * several gateways in one process). Cache and subscriber figures are read from
 * the cache when scraped, so they can never drift from it.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP requests by method, path and status.',
    labelNames: ['method', 'path', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly operationDuration = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'GraphQL operations by type and name (anonymous when unnamed).',
    labelNames: ['type', 'name'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'gateway_graphql_errors_total',
    help: 'GraphQL errors by code (typed mutation errors included, by type).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly kubeRequests = new Counter({
    name: 'gateway_kubernetes_requests_total',
    help: 'Requests to the Kubernetes API by verb, resource and status code (watches counted when opened).',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: 'gateway_subscription_events_total',
    help: 'Events sent to subscribers, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(cache?: ResourceCache) {
    if (cache) this.watch(cache);
  }

  /** Adds the cache's figures, read at each scrape. */
  watch(cache: ResourceCache): void {
    const per = (name: string, help: string, value: (s: ResourceCache['stats'][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['kind', 'namespace'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of cache.stats) this.set({ kind: s.kind, namespace: s.namespace }, value(s));
        },
      });
    per('gateway_cache_objects', 'Objects in the shared cache.', (s) => s.objects);
    per('gateway_cache_synced', '1 once the kind completed its first LIST.', (s) => (s.synced ? 1 : 0));
    per('gateway_watch_restarts', 'Watches restarted after an error, since start.', (s) => s.restarts);
    per('gateway_watch_expired', 'Relists after 410 Gone, since start.', (s) => s.expired);
    per('gateway_watch_stalls', 'Silent watches restarted by the watchdog, since start.', (s) => s.stalls);
    new Gauge({
      name: 'gateway_subscribers',
      help: 'Live subscriptions, by kind.',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of cache.subscribers) this.set({ kind: s.kind }, s.count);
      },
    });
  }

  /** Counts a Kubernetes API call. */
  kubeRequest(method: string, path: string, status: number | 'error'): void {
    this.kubeRequests.inc({ ...describeRequest(method, path), code: String(status) });
  }
}
