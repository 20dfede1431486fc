import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type KindName, kinds } from './kube/kinds.js';
import { loadPersistedDocuments, type PersistedDocuments, PersistedDocumentsError } from './persistedDocuments.js';

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where the gateway finds its cluster: named explicitly, in a pod, or the local control plane. */
export type ClusterSource =
  | { kind: 'kubeconfig'; path: string }
  | { kind: 'kubeconfig-env' }
  | { kind: 'in-cluster' }
  | { kind: 'local'; dir: string };

const limit = z.coerce.number().int().min(1).max(1_000_000_000);

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  maxDepth: limit,
  maxAliases: limit,
  maxTokens: limit,
  maxCost: limit,
  maxResolvedObjects: limit,
  maxResponseBytes: limit,
  maxBodyBytes: limit,
  rateBurst: limit,
  ratePerSecond: limit,
  rateCostBurst: limit,
  rateCostPerSecond: limit,
  wsMaxMessageBytes: limit,
  wsMaxConnections: limit,
  wsMaxConnectionsPerClient: limit,
  wsMaxSubscriptions: limit,
  maxAccessReviews: limit,
  accessReviewCacheEntries: limit,
  accessReviewCacheBytes: limit,
  tokenCacheEntries: limit,
  tokenCacheBytes: limit,
  authFailuresPerClient: limit,
  authFailureWindowMs: limit,
  maxSubscriptionsPerUser: limit,
  sseWriteTimeoutMs: limit,
  eventLogEvents: limit,
  eventLogBytes: limit,
  metricsOperationNames: z.coerce.number().int().min(0).max(10_000),
  metricsPort: z.coerce.number().int().min(1).max(65535).optional(),
  metricsTokenFile: z.string().min(1).optional(),
  persistedDocuments: z.string().min(1).optional(),
  yamlMaxBytes: limit,
  yamlMaxDepth: limit,
  yamlMaxAliases: limit,
  yamlParseTimeoutMs: limit,
  host: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  kubeconfig: z.string().min(1).optional(),
  localDir: z.string().min(1),
  auth: z.enum(['token', 'anonymous']),
  writeAs: z.enum(['token', 'impersonate']),
  otelEndpoint: z.url('must be a URL such as http://otel-collector:4318').optional(),
  introspection: z.stringbool(),
  corsOrigins: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url('each must be an origin such as https://app.example.com'))),
  shutdownGraceMs: z.coerce.number().int().min(0).max(600_000),
  seed: z.stringbool(),
  cacheKinds: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.enum(Object.keys(kinds) as [KindName, ...KindName[]]))
        .refine((ks) => ks.includes('PipelineResource'), 'must include PipelineResource (subscriptions stream from it)'),
    ),
  namespaces: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'each must be a namespace name'))),
});

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof schema>['logLevel'];
  cluster: ClusterSource;
  /**
   * `anonymous` serves callers without a token with the gateway's own rights; only in local mode on a
   * loopback host (parseConfig refuses it elsewhere). A caller who sends a token acts as themselves.
   */
  auth: 'token' | 'anonymous';
  /** `token`: writes carry the caller's own token; `impersonate`: the gateway's identity impersonates the caller. */
  writeAs: 'token' | 'impersonate';
  /** OTLP/HTTP endpoint for traces; tracing is off without one. */
  otelEndpoint: string | undefined;
  introspection: boolean;
  /** Browser origins allowed by CORS; none means same-origin only. */
  corsOrigins: string[];
  shutdownGraceMs: number;
  /** Local mode: install CRDs and seed examples at start. */
  seed: boolean;
  /** Kinds held in the shared watch cache; others are read per request, batched. */
  cacheKinds: KindName[];
  /** Namespaces to cache (one watch per kind and namespace); empty means all. */
  namespaces: string[];
  /** Abuse limits (docs/security.md). */
  limits: Record<LimitName, number>;
  /** Who may read /metrics (docs/operations.md). */
  metrics: MetricsAccess;
  /** Trusted documents: when set, only these operations run, by id; arbitrary operations are refused. */
  persistedDocuments: PersistedDocuments | undefined;
}

/** Where /metrics is served, and to whom. */
export interface MetricsAccess {
  /** A second port that serves only /metrics, on the same host; none when undefined. */
  port: number | undefined;
  /** Bearer token a scraper must send, read from `--metrics-token-file`; without it the main port answers 404. */
  token: string | undefined;
  /** Distinct operation names kept as labels; the rest are `other`. */
  operationNames: number;
}

type LimitName =
  | 'maxDepth'
  | 'maxAliases'
  | 'maxTokens'
  | 'maxCost'
  | 'maxResolvedObjects'
  | 'maxResponseBytes'
  | 'maxBodyBytes'
  | 'rateBurst'
  | 'ratePerSecond'
  | 'rateCostBurst'
  | 'rateCostPerSecond'
  | 'wsMaxMessageBytes'
  | 'wsMaxConnections'
  | 'wsMaxConnectionsPerClient'
  | 'wsMaxSubscriptions'
  | 'maxAccessReviews'
  | 'accessReviewCacheEntries'
  | 'accessReviewCacheBytes'
  | 'tokenCacheEntries'
  | 'tokenCacheBytes'
  | 'authFailuresPerClient'
  | 'authFailureWindowMs'
  | 'maxSubscriptionsPerUser'
  | 'sseWriteTimeoutMs'
  | 'eventLogEvents'
  | 'eventLogBytes'
  | 'yamlMaxBytes'
  | 'yamlMaxDepth'
  | 'yamlMaxAliases'
  | 'yamlParseTimeoutMs';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Each setting: its flag, its environment variable, its default. README's table mirrors this. */
const settings = {
  port: { env: 'PORT', default: '4000' },
  host: { env: 'HOST', default: undefined },
  logLevel: { env: 'LOG_LEVEL', default: 'info' },
  kubeconfig: { env: undefined, default: undefined },
  localDir: { env: 'LOCAL_DIR', default: '.local' },
  auth: { env: 'AUTH_MODE', default: undefined },
  writeAs: { env: 'WRITE_AS', default: 'token' },
  otelEndpoint: { env: 'OTEL_EXPORTER_OTLP_ENDPOINT', default: undefined },
  introspection: { env: 'INTROSPECTION', default: 'true' },
  corsOrigins: { env: 'CORS_ORIGINS', default: '' },
  shutdownGraceMs: { env: 'SHUTDOWN_GRACE_MS', default: '10000' },
  seed: { env: 'SEED', default: 'true' },
  maxDepth: { env: 'MAX_DEPTH', default: '12' },
  maxAliases: { env: 'MAX_ALIASES', default: '30' },
  maxTokens: { env: 'MAX_TOKENS', default: '3000' },
  maxCost: { env: 'MAX_COST', default: '20000' },
  maxResolvedObjects: { env: 'MAX_RESOLVED_OBJECTS', default: '100000' },
  maxResponseBytes: { env: 'MAX_RESPONSE_BYTES', default: '16777216' },
  maxBodyBytes: { env: 'MAX_BODY_BYTES', default: '262144' },
  rateBurst: { env: 'RATE_BURST', default: '200' },
  ratePerSecond: { env: 'RATE_PER_SECOND', default: '50' },
  rateCostBurst: { env: 'RATE_COST_BURST', default: '100000' },
  rateCostPerSecond: { env: 'RATE_COST_PER_SECOND', default: '20000' },
  wsMaxMessageBytes: { env: 'WS_MAX_MESSAGE_BYTES', default: '65536' },
  wsMaxConnections: { env: 'WS_MAX_CONNECTIONS', default: '10000' },
  wsMaxConnectionsPerClient: { env: 'WS_MAX_CONNECTIONS_PER_CLIENT', default: '1000' },
  wsMaxSubscriptions: { env: 'WS_MAX_SUBSCRIPTIONS', default: '100' },
  maxAccessReviews: { env: 'MAX_ACCESS_REVIEWS', default: '100' },
  accessReviewCacheEntries: { env: 'ACCESS_REVIEW_CACHE_ENTRIES', default: '50000' },
  accessReviewCacheBytes: { env: 'ACCESS_REVIEW_CACHE_BYTES', default: '33554432' },
  tokenCacheEntries: { env: 'TOKEN_CACHE_ENTRIES', default: '10000' },
  tokenCacheBytes: { env: 'TOKEN_CACHE_BYTES', default: '33554432' },
  authFailuresPerClient: { env: 'AUTH_FAILURES_PER_CLIENT', default: '20' },
  authFailureWindowMs: { env: 'AUTH_FAILURE_WINDOW_MS', default: '60000' },
  maxSubscriptionsPerUser: { env: 'MAX_SUBSCRIPTIONS_PER_USER', default: '1000' },
  sseWriteTimeoutMs: { env: 'SSE_WRITE_TIMEOUT_MS', default: '30000' },
  eventLogEvents: { env: 'EVENT_LOG_EVENTS', default: '10000' },
  eventLogBytes: { env: 'EVENT_LOG_BYTES', default: String(32 * 1024 * 1024) },
  metricsOperationNames: { env: 'METRICS_OPERATION_NAMES', default: '100' },
  metricsPort: { env: 'METRICS_PORT', default: undefined },
  metricsTokenFile: { env: 'METRICS_TOKEN_FILE', default: undefined },
  persistedDocuments: { env: 'PERSISTED_DOCUMENTS', default: undefined },
  yamlMaxBytes: { env: 'YAML_MAX_BYTES', default: '131072' },
  yamlMaxDepth: { env: 'YAML_MAX_DEPTH', default: '32' },
  yamlMaxAliases: { env: 'YAML_MAX_ALIASES', default: '100' },
  yamlParseTimeoutMs: { env: 'YAML_PARSE_TIMEOUT_MS', default: '2000' },
  cacheKinds: { env: 'CACHE_KINDS', default: 'PipelineResource,ResourceBinding,Pipeline,PipelineRun' },
  namespaces: { env: 'WATCH_NAMESPACES', default: '' },
} as const;

const flagNames: Record<keyof typeof settings, string> = {
  port: 'port',
  host: 'host',
  logLevel: 'log-level',
  kubeconfig: 'kubeconfig',
  localDir: 'local-dir',
  auth: 'auth',
  writeAs: 'write-as',
  otelEndpoint: 'otel-endpoint',
  introspection: 'introspection',
  corsOrigins: 'cors-origins',
  shutdownGraceMs: 'shutdown-grace-ms',
  seed: 'seed',
  maxDepth: 'max-depth',
  maxAliases: 'max-aliases',
  maxTokens: 'max-tokens',
  maxCost: 'max-cost',
  maxResolvedObjects: 'max-resolved-objects',
  maxResponseBytes: 'max-response-bytes',
  maxBodyBytes: 'max-body-bytes',
  rateBurst: 'rate-burst',
  ratePerSecond: 'rate-per-second',
  rateCostBurst: 'rate-cost-burst',
  rateCostPerSecond: 'rate-cost-per-second',
  wsMaxMessageBytes: 'ws-max-message-bytes',
  wsMaxConnections: 'ws-max-connections',
  wsMaxConnectionsPerClient: 'ws-max-connections-per-client',
  wsMaxSubscriptions: 'ws-max-subscriptions',
  maxAccessReviews: 'max-access-reviews',
  accessReviewCacheEntries: 'access-review-cache-entries',
  accessReviewCacheBytes: 'access-review-cache-bytes',
  tokenCacheEntries: 'token-cache-entries',
  tokenCacheBytes: 'token-cache-bytes',
  authFailuresPerClient: 'auth-failures-per-client',
  authFailureWindowMs: 'auth-failure-window-ms',
  maxSubscriptionsPerUser: 'max-subscriptions-per-user',
  sseWriteTimeoutMs: 'sse-write-timeout-ms',
  eventLogEvents: 'event-log-events',
  eventLogBytes: 'event-log-bytes',
  metricsOperationNames: 'metrics-operation-names',
  metricsPort: 'metrics-port',
  metricsTokenFile: 'metrics-token-file',
  persistedDocuments: 'persisted-documents',
  yamlMaxBytes: 'yaml-max-bytes',
  yamlMaxDepth: 'yaml-max-depth',
  yamlMaxAliases: 'yaml-max-aliases',
  yamlParseTimeoutMs: 'yaml-parse-timeout-ms',
  cacheKinds: 'cache-kinds',
  namespaces: 'namespaces',
};

/** The scrape token in a file (a mounted Secret, say), so it is not in the environment or the process list. */
function readMetricsToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`invalid --metrics-token-file / METRICS_TOKEN_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  if (token.length < 16)
    throw new ConfigError(`invalid --metrics-token-file / METRICS_TOKEN_FILE: ${path} holds under 16 characters`);
  return token;
}

/** Whether a listen address or a `Host` name reaches this machine only: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Parses flags and environment once; a bad value throws a ConfigError naming the setting. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.values(flagNames).map((f) => [f, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  const raw: Record<string, string | undefined> = {};
  for (const [key, s] of Object.entries(settings)) {
    raw[key] = flags[flagNames[key as keyof typeof settings]] ?? (s.env ? env[s.env] : undefined) ?? s.default;
  }

  if (!raw.kubeconfig && !env.KUBECONFIG && env.KUBERNETES_SERVICE_HOST && !existsSync(serviceAccountToken)) {
    // In a pod, never fall back to starting a local control plane.
    throw new ConfigError(
      `in a pod (KUBERNETES_SERVICE_HOST is set) but ${serviceAccountToken} is missing: mount the ServiceAccount token or pass --kubeconfig`,
    );
  }
  const cluster: ClusterSource = raw.kubeconfig
    ? { kind: 'kubeconfig', path: raw.kubeconfig }
    : env.KUBECONFIG
      ? { kind: 'kubeconfig-env' }
      : env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountToken)
        ? { kind: 'in-cluster' }
        : { kind: 'local', dir: raw.localDir ?? '.local' };
  // Local mode serves only this machine, with the local admin's rights, unless told otherwise.
  raw.auth ??= cluster.kind === 'local' ? 'anonymous' : 'token';

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0]) as keyof typeof settings;
    const s = settings[key];
    const names = [`--${flagNames[key]}`, ...(s?.env ? [s.env] : [])].join(' / ');
    throw new ConfigError(`invalid ${names} ${JSON.stringify(raw[key])}: ${issue?.message}`);
  }
  const c = parsed.data;
  const host = c.host ?? (cluster.kind === 'local' ? '127.0.0.1' : '0.0.0.0');
  // Anonymous callers act with the gateway's own rights: only the local control plane, only this machine.
  if (c.auth === 'anonymous' && cluster.kind !== 'local') {
    throw new ConfigError(
      `--auth anonymous is only allowed in local mode (no --kubeconfig, KUBECONFIG or ServiceAccount): with a named cluster every caller would act with the gateway's rights; use --auth token`,
    );
  }
  if (c.auth === 'anonymous' && !isLoopback(host)) {
    throw new ConfigError(
      `--auth anonymous is only allowed on a loopback --host (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}: use --auth token to serve other machines`,
    );
  }
  return {
    port: c.port,
    host,
    logLevel: c.logLevel,
    cluster,
    auth: c.auth,
    writeAs: c.writeAs,
    otelEndpoint: c.otelEndpoint,
    introspection: c.introspection,
    corsOrigins: c.corsOrigins,
    shutdownGraceMs: c.shutdownGraceMs,
    seed: c.seed,
    cacheKinds: c.cacheKinds,
    limits: {
      maxDepth: c.maxDepth,
      maxAliases: c.maxAliases,
      maxTokens: c.maxTokens,
      maxCost: c.maxCost,
      maxResolvedObjects: c.maxResolvedObjects,
      maxResponseBytes: c.maxResponseBytes,
      maxBodyBytes: c.maxBodyBytes,
      rateBurst: c.rateBurst,
      ratePerSecond: c.ratePerSecond,
      rateCostBurst: c.rateCostBurst,
      rateCostPerSecond: c.rateCostPerSecond,
      wsMaxMessageBytes: c.wsMaxMessageBytes,
      wsMaxConnections: c.wsMaxConnections,
      wsMaxConnectionsPerClient: c.wsMaxConnectionsPerClient,
      wsMaxSubscriptions: c.wsMaxSubscriptions,
      yamlMaxBytes: c.yamlMaxBytes,
      yamlMaxDepth: c.yamlMaxDepth,
      yamlMaxAliases: c.yamlMaxAliases,
      yamlParseTimeoutMs: c.yamlParseTimeoutMs,
      maxAccessReviews: c.maxAccessReviews,
      accessReviewCacheEntries: c.accessReviewCacheEntries,
      accessReviewCacheBytes: c.accessReviewCacheBytes,
      tokenCacheEntries: c.tokenCacheEntries,
      tokenCacheBytes: c.tokenCacheBytes,
      authFailuresPerClient: c.authFailuresPerClient,
      authFailureWindowMs: c.authFailureWindowMs,
      maxSubscriptionsPerUser: c.maxSubscriptionsPerUser,
      sseWriteTimeoutMs: c.sseWriteTimeoutMs,
      eventLogEvents: c.eventLogEvents,
      eventLogBytes: c.eventLogBytes,
    },
    metrics: {
      port: c.metricsPort,
      token: c.metricsTokenFile === undefined ? undefined : readMetricsToken(c.metricsTokenFile),
      operationNames: c.metricsOperationNames,
    },
    namespaces: c.namespaces,
    persistedDocuments: c.persistedDocuments === undefined ? undefined : readPersistedDocuments(c.persistedDocuments),
  };
}

function readPersistedDocuments(path: string): PersistedDocuments {
  try {
    return loadPersistedDocuments(path);
  } catch (err) {
    if (err instanceof PersistedDocumentsError)
      throw new ConfigError(`invalid --persisted-documents / PERSISTED_DOCUMENTS: ${err.message}`);
    throw err;
  }
}
