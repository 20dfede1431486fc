import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type KindName, kinds } from './kube/kinds.js';
import { dns1123Label } from './kube/names.js';
import { loadPersistedDocuments, type PersistedDocuments, PersistedDocumentsError } from './persistedDocuments.js';

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where the gateway finds its cluster: named explicitly, in a pod, or the local control plane. */
export type ClusterSource =
  | { kind: 'kubeconfig'; path: string }
  | { kind: 'kubeconfig-env' }
  | { kind: 'in-cluster' }
  | { kind: 'local'; dir: string };

const limit = z.coerce.number().int().min(1).max(1_000_000_000);
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** One setting: everything about it is here; flags, environment, types, defaults and README's table derive from it. */
interface Setting<T extends z.ZodType> {
  /** Its environment variable; its flag is the setting's name in kebab-case (`logLevel` → `--log-level`). */
  env: string | undefined;
  /** As a flag or the environment would give it; undefined: none, or derived at start-up (`shown` says how). */
  default: string | undefined;
  /** README's Default column where the raw default does not say it. */
  shown?: string;
  /** README's Environment column where the variable is read by another means (KUBECONFIG, by client-node). */
  shownEnv?: string;
  type: T;
  /** README's Meaning column. */
  doc: string;
  /** An abuse limit (`Config.limits`; docs/security.md has why each default is what it is). */
  limit?: true;
}

/** Keeps each setting's own type (its zod type, whether it is a limit) for the derived types below. */
const setting = <const S extends Setting<z.ZodType>>(s: S): S => s;
const abuseLimit = (env: string, value: number, doc: string) =>
  setting({ env, default: String(value), type: limit, doc, limit: true });

/** Every setting, in README's order. */
export const settings = {
  port: setting({
    env: 'PORT',
    default: '4000',
    type: z.coerce.number().int().min(0).max(65535),
    doc: 'HTTP and WebSocket port (`/graphql`, `/healthz`, `/readyz`; `/metrics` only with `--metrics-token-file`).',
  }),
  host: setting({
    env: 'HOST',
    default: undefined,
    shown: '`127.0.0.1` in local mode, else `0.0.0.0`',
    type: z.string().min(1).optional(),
    doc: 'Address to bind.',
  }),
  kubeconfig: setting({
    env: undefined,
    shownEnv: 'KUBECONFIG',
    default: undefined,
    type: z.string().min(1).optional(),
    doc: 'The cluster to serve. With neither, and not in a pod, local mode starts.',
  }),
  localDir: setting({ env: 'LOCAL_DIR', default: '.local', type: z.string().min(1), doc: "Local mode's data folder." }),
  auth: setting({
    env: 'AUTH_MODE',
    default: undefined,
    shown: '`anonymous` in local mode, else `token`',
    type: z.enum(['token', 'anonymous']).optional(),
    doc: "`token`: callers authenticate with a Kubernetes bearer token and act as themselves. `anonymous`: callers without a token act with the gateway's rights, callers with one as themselves; only allowed in local mode on a loopback `--host` (else the gateway refuses to start, exit code 2).",
  }),
  writeAs: setting({
    env: 'WRITE_AS',
    default: 'token',
    type: z.enum(['token', 'impersonate']),
    doc: 'How writes reach Kubernetes as the caller: `token` passes their token through; `impersonate` has the gateway impersonate them (its identity then needs `impersonate`).',
  }),
  cacheKinds: setting({
    env: 'CACHE_KINDS',
    default: 'PipelineResource,ResourceBinding,Pipeline,PipelineRun',
    type: list.pipe(
      z
        .array(z.enum(Object.keys(kinds) as [KindName, ...KindName[]]))
        .refine((ks) => ks.includes('PipelineResource'), 'must include PipelineResource (subscriptions stream from it)'),
    ),
    doc: 'Kinds held in the shared watch cache (one watch each); others (Task, TaskRun) are read per request, batched. Must include `PipelineResource`.',
  }),
  namespaces: setting({
    env: 'WATCH_NAMESPACES',
    default: '',
    shown: 'all',
    type: list.pipe(z.array(z.string().regex(dns1123Label, 'each must be a namespace name'))),
    doc: 'Cache only these namespaces (comma-separated; one watch per kind and namespace).',
  }),
  introspection: setting({
    env: 'INTROSPECTION',
    default: 'true',
    type: z.stringbool(),
    doc: "Schema introspection and federation's `_service { sdl }` (GraphiQL and routers need them); `false` refuses both with `INTROSPECTION_DISABLED`.",
  }),
  compiledExecution: setting({
    env: 'COMPILED_EXECUTION',
    default: 'false',
    type: z.stringbool(),
    doc: 'Experimental: queries and mutations run compiled to JavaScript (graphql-jit), about twice as fast warm; subscriptions never are. Off because some answers differ (docs/decisions/017-compiled-execution.md).',
  }),
  corsOrigins: setting({
    env: 'CORS_ORIGINS',
    default: '',
    shown: 'none',
    type: list.pipe(z.array(z.url('each must be an origin such as https://app.example.com'))),
    doc: 'Browser origins allowed by CORS, and to open WebSocket and SSE streams (comma-separated); none means same-origin only.',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    default: 'info',
    type: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    doc: 'pino level.',
  }),
  otelEndpoint: setting({
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: undefined,
    type: z.url('must be a URL such as http://otel-collector:4318').optional(),
    doc: 'OTLP/HTTP collector: traces each GraphQL operation, with its Kubernetes calls as child spans. Off when unset.',
  }),
  shutdownGraceMs: setting({
    env: 'SHUTDOWN_GRACE_MS',
    default: '10000',
    type: z.coerce.number().int().min(0).max(600_000),
    doc: 'On SIGTERM, how long in-flight requests may finish.',
  }),
  seed: setting({ env: 'SEED', default: 'true', type: z.stringbool(), doc: 'Local mode: seed the example data.' }),
  metricsPort: setting({
    env: 'METRICS_PORT',
    default: undefined,
    type: z.coerce.number().int().min(1).max(65535).optional(),
    doc: 'A second port, on the same host, serving only `/metrics` (docs/operations.md). Without it and without a token, no one reads metrics.',
  }),
  metricsTokenFile: setting({
    env: 'METRICS_TOKEN_FILE',
    default: undefined,
    type: z.string().min(1).optional(),
    doc: 'A file holding a bearer token (16+ characters) that `/metrics` requires, on either port; with it the main port serves `/metrics` too.',
  }),
  persistedDocuments: setting({
    env: 'PERSISTED_DOCUMENTS',
    default: undefined,
    type: z.string().min(1).optional(),
    doc: 'Trusted documents: a JSON file `{ "<id>": "<document>" }` (graphql-codegen\'s `persisted-documents.json`). With it only those operations run, named by `documentId` (or `extensions.persistedQuery.sha256Hash`), over HTTP and WebSocket; any other is refused with `CANNOT_SEND_PQ_ID_AND_BODY`, an unknown id with `PERSISTED_QUERY_NOT_IN_LIST`. GraphiQL then runs nothing of its own. See [docs/clients.md](docs/clients.md).',
  }),
  metricsOperationNames: setting({
    env: 'METRICS_OPERATION_NAMES',
    default: '100',
    type: z.coerce.number().int().min(0).max(10_000),
    doc: 'Distinct operation names kept as metric labels (cut to 64 characters); the rest are `other`.',
  }),
  eventLogEvents: abuseLimit('EVENT_LOG_EVENTS', 10_000, "Each cached kind's replay window for `since`: events."),
  eventLogBytes: abuseLimit('EVENT_LOG_BYTES', 32 * 1024 * 1024, 'The same, in estimated bytes.'),
  maxSubscriptionsPerUser: abuseLimit('MAX_SUBSCRIPTIONS_PER_USER', 1000, 'Live subscriptions per user (WebSocket and SSE).'),
  sseWriteTimeoutMs: abuseLimit(
    'SSE_WRITE_TIMEOUT_MS',
    30_000,
    'How long an SSE write may wait for its reader before the stream is closed.',
  ),
  maxDepth: abuseLimit('MAX_DEPTH', 12, 'Query depth.'),
  maxAliases: abuseLimit('MAX_ALIASES', 30, 'Aliases per operation.'),
  maxTokens: abuseLimit('MAX_TOKENS', 3000, 'Lexical tokens per document.'),
  maxCost: abuseLimit('MAX_COST', 20_000, "An operation's estimated cost (about the objects it may resolve)."),
  maxResolvedObjects: abuseLimit('MAX_RESOLVED_OBJECTS', 100_000, 'Objects one operation (or subscription event) resolves.'),
  maxResponseBytes: abuseLimit(
    'MAX_RESPONSE_BYTES',
    16 * 1024 * 1024,
    "One operation's response size, counted as fields resolve.",
  ),
  maxBodyBytes: abuseLimit('MAX_BODY_BYTES', 256 * 1024, 'Request body size (HTTP 413 past it).'),
  rateBurst: abuseLimit('RATE_BURST', 200, 'Operations per caller: the burst.'),
  ratePerSecond: abuseLimit('RATE_PER_SECOND', 50, 'Operations per caller: the steady rate.'),
  rateCostBurst: abuseLimit('RATE_COST_BURST', 100_000, 'Estimated cost per caller: the burst.'),
  rateCostPerSecond: abuseLimit('RATE_COST_PER_SECOND', 20_000, 'Estimated cost per caller: the steady rate.'),
  rateSubscribeBurst: abuseLimit('RATE_SUBSCRIBE_BURST', 2_000, 'Subscription starts per caller: the burst.'),
  rateSubscribePerSecond: abuseLimit('RATE_SUBSCRIBE_PER_SECOND', 600, 'Subscription starts per caller: the steady rate.'),
  wsMaxMessageBytes: abuseLimit('WS_MAX_MESSAGE_BYTES', 64 * 1024, 'Largest WebSocket message a client may send (close 1009).'),
  wsMaxConnections: abuseLimit('WS_MAX_CONNECTIONS', 10_000, 'WebSocket connections and streaming HTTP responses per process.'),
  wsMaxConnectionsPerClient: abuseLimit('WS_MAX_CONNECTIONS_PER_CLIENT', 1000, 'The same, per client address.'),
  wsMaxSubscriptions: abuseLimit('WS_MAX_SUBSCRIPTIONS', 100, 'Subscriptions per WebSocket.'),
  maxAccessReviews: abuseLimit('MAX_ACCESS_REVIEWS', 100, 'Distinct access reviews one operation may cause.'),
  accessReviewCacheEntries: abuseLimit('ACCESS_REVIEW_CACHE_ENTRIES', 50_000, 'Access-review cache: entries.'),
  accessReviewCacheBytes: abuseLimit('ACCESS_REVIEW_CACHE_BYTES', 32 * 1024 * 1024, 'Access-review cache: bytes.'),
  tokenCacheEntries: abuseLimit('TOKEN_CACHE_ENTRIES', 10_000, 'Token cache: entries.'),
  tokenCacheBytes: abuseLimit('TOKEN_CACHE_BYTES', 32 * 1024 * 1024, 'Token cache: bytes.'),
  authFailuresPerClient: abuseLimit(
    'AUTH_FAILURES_PER_CLIENT',
    20,
    'Failed tokens per client address in a window, before unknown ones get 429 without a TokenReview.',
  ),
  authFailureWindowMs: abuseLimit('AUTH_FAILURE_WINDOW_MS', 60_000, 'That window.'),
  yamlMaxBytes: abuseLimit(
    'YAML_MAX_BYTES',
    128 * 1024,
    'YAML inputs of `migrateLegacyPipeline` and `importPipelineResources`: size.',
  ),
  yamlMaxDepth: abuseLimit('YAML_MAX_DEPTH', 32, 'YAML inputs: nesting.'),
  yamlMaxAliases: abuseLimit('YAML_MAX_ALIASES', 100, 'YAML inputs: alias expansion (nodes).'),
  yamlParseTimeoutMs: abuseLimit('YAML_PARSE_TIMEOUT_MS', 2000, 'YAML inputs: parse time.'),
};

type Settings = typeof settings;
type SettingName = keyof Settings;
type Values = { [K in SettingName]: z.output<Settings[K]['type']> };
type LimitName = { [K in SettingName]: Settings[K] extends { limit: true } ? K : never }[SettingName];

/** The abuse limits (docs/security.md). */
export type Limits = Pick<Values, LimitName>;

/** The parsed settings; those resolved at start-up (cluster, host, auth, the metrics token) in their final form. */
export type Config = Omit<
  Values,
  LimitName | 'host' | 'auth' | 'kubeconfig' | 'localDir' | 'metricsTokenFile' | 'persistedDocuments'
> & {
  host: string;
  /**
   * `anonymous` serves callers without a token with the gateway's own rights; only in local mode on a
   * loopback host (parseConfig refuses it elsewhere). A caller who sends a token acts as themselves.
   */
  auth: 'token' | 'anonymous';
  cluster: ClusterSource;
  limits: Limits;
  /** Bearer token a scraper must send, read from `--metrics-token-file`; without it the main port answers 404. */
  metricsToken: string | undefined;
  /** Trusted documents: when set, only these operations run, by id; arbitrary operations are refused. */
  persistedDocuments: PersistedDocuments | undefined;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `logLevel` → `log-level`. */
export const flagOf = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const names = Object.keys(settings) as SettingName[];
const schema = z.object(
  Object.fromEntries(names.map((n) => [n, settings[n].type])) as { [K in SettingName]: Settings[K]['type'] },
);

/** README's settings table, derived from `settings` (a unit test compares the two). */
export function settingsTable(): string {
  const code = (s: string) => `\`${s}\``;
  const rows = names.map((n) => {
    const s: Setting<z.ZodType> = settings[n];
    const env = s.env ?? s.shownEnv;
    const fallback = s.default === undefined || s.default === '' ? 'none' : code(s.default);
    return `| ${code(`--${flagOf(n)}`)} | ${env ? code(env) : 'none'} | ${s.shown ?? fallback} | ${s.doc} |`;
  });
  return ['| Flag | Environment | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

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
      options: Object.fromEntries(names.map((n) => [flagOf(n), { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  const raw: Record<string, string | undefined> = {};
  for (const n of names) {
    const s: Setting<z.ZodType> = settings[n];
    raw[n] = flags[flagOf(n)] ?? (s.env ? env[s.env] : undefined) ?? s.default;
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
    const key = String(issue?.path[0]) as SettingName;
    const s: Setting<z.ZodType> | undefined = settings[key];
    const shown = [`--${flagOf(key)}`, ...(s?.env ? [s.env] : [])].join(' / ');
    throw new ConfigError(`invalid ${shown} ${JSON.stringify(raw[key])}: ${issue?.message}`);
  }
  const {
    host: givenHost,
    auth = 'token',
    kubeconfig: _k,
    localDir: _l,
    metricsTokenFile,
    persistedDocuments,
    ...rest
  } = parsed.data;
  const host = givenHost ?? (cluster.kind === 'local' ? '127.0.0.1' : '0.0.0.0');
  // Anonymous callers act with the gateway's own rights: only the local control plane, only this machine.
  if (auth === 'anonymous' && cluster.kind !== 'local') {
    throw new ConfigError(
      `--auth anonymous is only allowed in local mode (no --kubeconfig, KUBECONFIG or ServiceAccount): with a named cluster every caller would act with the gateway's rights; use --auth token`,
    );
  }
  if (auth === 'anonymous' && !isLoopback(host)) {
    throw new ConfigError(
      `--auth anonymous is only allowed on a loopback --host (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}: use --auth token to serve other machines`,
    );
  }
  const limits: Record<string, number> = {};
  const others: Record<string, unknown> = {};
  for (const [n, value] of Object.entries(rest)) {
    if ((settings[n as SettingName] as { limit?: true }).limit) limits[n] = value as number;
    else others[n] = value;
  }
  return {
    ...(others as Omit<Config, 'host' | 'auth' | 'cluster' | 'limits' | 'metricsToken' | 'persistedDocuments'>),
    host,
    auth,
    cluster,
    limits: limits as Limits,
    metricsToken: metricsTokenFile === undefined ? undefined : readMetricsToken(metricsTokenFile),
    persistedDocuments: persistedDocuments === undefined ? undefined : readPersistedDocuments(persistedDocuments),
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
