import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describeRequest } from './kube/kinds.js';
import type { ResourceCache } from './kube/ResourceCache.js';

export interface GatewayMetricsOptions {
  /** Distinct operation names kept as labels (the first ones seen); the rest are `other`. */
  operationNames?: number;
}

/** Longest operation name kept in a label; longer ones are cut to this. */
export const operationNameMaxLength = 64;

/**
 * The gateway's Prometheus metrics, one registry per process (tests build
 * several gateways in one process). Cache and subscriber figures are read from
 * the cache when scraped, so they can never drift from it.
 *
 * Every label comes from a bounded set, so no caller can grow the output:
 * operation names (chosen by callers) are cut to 64 characters and only the
 * first `operationNames` distinct ones are kept, the rest being `other`.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();
  private readonly maxOperationNames: number;
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

  readonly compiledOperations = new Counter({
    name: 'gateway_graphql_compilations_total',
    help: 'Query and mutation documents compiled to JavaScript (graphql-jit); a document run again is not recompiled.',
    registers: [this.registry],
  });
  readonly compiledExecutions = new Counter({
    name: 'gateway_graphql_compiled_executions_total',
    help: 'Operations run by their compiled form (queries and mutations; subscriptions never are).',
    registers: [this.registry],
  });

  constructor(options: GatewayMetricsOptions = {}) {
    this.maxOperationNames = options.operationNames ?? 100;
  }

  /** The label for an operation name: itself cut to 64 characters while the set has room, else `other`. */
  operationLabel(name: string | undefined): string {
    if (name === undefined) return 'anonymous';
    const label = name.slice(0, operationNameMaxLength);
    if (this.operationNames.has(label)) return label;
    if (this.operationNames.size >= this.maxOperationNames) return 'other';
    this.operationNames.add(label);
    return label;
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
    per('gateway_watch_relists', 'LISTs after the first (each after a 410 Gone), since start.', (s) => s.relists);
    per(
      'gateway_relist_synthesized_events',
      'Events relists made up from the difference between the cache and the LIST, since start.',
      (s) => s.synthesized,
    );
    for (const [name, help, value] of [
      ['gateway_event_log_events', 'Events kept for resuming subscribers (`since`), by kind.', (h) => h.events],
      ['gateway_event_log_bytes', 'Estimated bytes of the events kept for resuming subscribers, by kind.', (h) => h.bytes],
      [
        'gateway_subscription_resyncs',
        'Subscribers sent RESYNC (their `since` could not be replayed), since start, by kind.',
        (h) => h.resyncs,
      ],
    ] as const satisfies readonly (readonly [string, string, (h: ResourceCache['histories'][number]) => number])[]) {
      new Gauge({
        name,
        help,
        labelNames: ['kind'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const h of cache.histories) this.set({ kind: h.kind }, value(h));
        },
      });
    }
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
