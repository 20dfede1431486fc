import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readmeWithSettings } from '../../scripts/readmeSettings.js';
import { defaultWebSocketLimits } from '../../src/app.js';
import { defaultTokenCacheLimits } from '../../src/auth/Authenticator.js';
import { defaultAuthFailureLimit } from '../../src/auth/AuthFailureLimiter.js';
import { defaultReviewCacheLimits } from '../../src/auth/Authorizer.js';
import { type Config, ConfigError, flagOf, parseConfig, settings } from '../../src/config.js';
import { defaultExecutionBudget } from '../../src/plugins/useExecutionBudget.js';
import { defaultQueryLimits } from '../../src/plugins/useQueryLimits.js';
import { defaultRateLimit } from '../../src/plugins/useRateLimit.js';
import { defaultYamlLimits } from '../../src/resources/readYaml.js';
import { defaultEventLogLimits } from '../../src/subscriptions/EventLog.js';
import { defaultSubscriptionLimits } from '../../src/subscriptions/limits.js';
import { defaultHttpPolicy, defaultMaxAccessReviews } from '../../src/yoga.js';

it('defaults to local mode on 127.0.0.1:4000 with anonymous access when no cluster is named', () => {
  const c = parseConfig([], {});
  expect(c).toMatchObject({ port: 4000, host: '127.0.0.1', auth: 'anonymous', cluster: { kind: 'local', dir: '.local' } });
});

it('serves a named cluster with token auth on all interfaces', () => {
  expect(parseConfig(['--kubeconfig', '/k'], {})).toMatchObject({
    cluster: { kind: 'kubeconfig', path: '/k' },
    auth: 'token',
    host: '0.0.0.0',
  });
  expect(parseConfig([], { KUBECONFIG: '/k' })).toMatchObject({ cluster: { kind: 'kubeconfig-env' }, auth: 'token' });
});

it('ignores ~/.kube/config: only an explicit kubeconfig leaves local mode', () => {
  // A real ~/.kube/config in HOME: a default-kubeconfig lookup (client-node's loadFromDefault) would find it.
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  try {
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\nclusters: []\n');
    expect(parseConfig([], { HOME: home }).cluster).toEqual({ kind: 'local', dir: '.local' });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

it("README's settings table is the one src/config.ts derives (npm run -s docs:settings)", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  expect(readme).toBe(readmeWithSettings(readme));
  // Every flag appears once, each with its environment variable.
  for (const [name, s] of Object.entries(settings)) {
    expect(readme.split(`| \`--${flagOf(name)}\` |`).length - 1, name).toBe(1);
    if (s.env) expect(readme).toContain(`| \`--${flagOf(name)}\` | \`${s.env}\` |`);
  }
});

it('flags win over the environment', () => {
  expect(parseConfig(['--port', '5000'], { PORT: '6000' }).port).toBe(5000);
});

it.each([
  [['--port', 'abc'], {}, /--port \/ PORT "abc"/],
  [[], { PORT: '70000' }, /--port \/ PORT "70000"/],
  [[], { LOG_LEVEL: 'loud' }, /--log-level \/ LOG_LEVEL "loud"/],
  [[], { AUTH_MODE: 'none' }, /--auth \/ AUTH_MODE "none"/],
  [['--bogus'], {}, /bogus/],
])('refuses %j %j with a message naming the setting', (argv, env, message) => {
  expect(() => parseConfig(argv, env)).toThrow(ConfigError);
  expect(() => parseConfig(argv, env)).toThrow(message);
});

it('caches the graph kinds by default, and checks the lists it is given', () => {
  expect(parseConfig([], {}).cacheKinds).toEqual(['PipelineResource', 'ResourceBinding', 'Pipeline', 'PipelineRun']);
  expect(parseConfig(['--namespaces', 'team-a, team-b'], {}).namespaces).toEqual(['team-a', 'team-b']);
  expect(() => parseConfig(['--cache-kinds', 'Pipeline'], {})).toThrow(
    /--cache-kinds \/ CACHE_KINDS "Pipeline": must include PipelineResource/,
  );
  expect(() => parseConfig(['--cache-kinds', 'PipelineResource,Secret'], {})).toThrow(/--cache-kinds/);
  expect(() => parseConfig([], { WATCH_NAMESPACES: 'Team_A' })).toThrow(/--namespaces \/ WATCH_NAMESPACES/);
});

it('takes every abuse limit from flags or the environment, with safe defaults', () => {
  expect(parseConfig([], {}).limits).toEqual({
    maxDepth: 12,
    maxAliases: 30,
    maxTokens: 3000,
    maxCost: 20000,
    maxResolvedObjects: 100000,
    maxResponseBytes: 16777216,
    maxBodyBytes: 262144,
    rateBurst: 200,
    ratePerSecond: 50,
    rateCostBurst: 100000,
    rateCostPerSecond: 20000,
    rateSubscribeBurst: 2000,
    rateSubscribePerSecond: 600,
    wsMaxMessageBytes: 65536,
    wsMaxConnections: 10000,
    wsMaxConnectionsPerClient: 1000,
    wsMaxSubscriptions: 100,
    maxAccessReviews: 100,
    accessReviewCacheEntries: 50000,
    accessReviewCacheBytes: 33554432,
    tokenCacheEntries: 10000,
    tokenCacheBytes: 33554432,
    authFailuresPerClient: 20,
    authFailureWindowMs: 60000,
    maxSubscriptionsPerUser: 1000,
    sseWriteTimeoutMs: 30000,
    eventLogEvents: 10000,
    eventLogBytes: 33554432,
    yamlMaxBytes: 131072,
    yamlMaxDepth: 32,
    yamlMaxAliases: 100,
    yamlParseTimeoutMs: 2000,
  });
  expect(parseConfig(['--max-depth', '5'], { MAX_COST: '100' }).limits).toMatchObject({ maxDepth: 5, maxCost: 100 });
  expect(parseConfig(['--rate-subscribe-burst', '8'], { RATE_SUBSCRIBE_PER_SECOND: '4' }).limits).toMatchObject({
    rateSubscribeBurst: 8,
    rateSubscribePerSecond: 4,
  });
  expect(parseConfig(['--rate-cost-burst', '9'], { RATE_COST_PER_SECOND: '3' }).limits).toMatchObject({
    rateCostBurst: 9,
    rateCostPerSecond: 3,
  });
  expect(parseConfig(['--max-resolved-objects', '50'], { MAX_RESPONSE_BYTES: '4096' }).limits).toMatchObject({
    maxResolvedObjects: 50,
    maxResponseBytes: 4096,
  });
  expect(parseConfig(['--max-access-reviews', '7'], { AUTH_FAILURES_PER_CLIENT: '3' }).limits).toMatchObject({
    maxAccessReviews: 7,
    authFailuresPerClient: 3,
  });
  expect(() => parseConfig(['--max-depth', '0'], {})).toThrow(/--max-depth \/ MAX_DEPTH "0"/);
});

const metricsOf = (c: Config) => ({ port: c.metricsPort, token: c.metricsToken, operationNames: c.metricsOperationNames });

it('serves /metrics to nobody by default: no metrics port, no token, 100 operation names', () => {
  expect(metricsOf(parseConfig([], {}))).toEqual({ port: undefined, token: undefined, operationNames: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'metrics-token-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'a-scrape-token-of-some-length\n');
    expect(
      metricsOf(parseConfig(['--metrics-port', '9090', '--metrics-token-file', file], { METRICS_OPERATION_NAMES: '0' })),
    ).toEqual({
      port: 9090,
      token: 'a-scrape-token-of-some-length',
      operationNames: 0,
    });
    writeFileSync(file, 'short');
    expect(() => parseConfig(['--metrics-token-file', file], {})).toThrow(/METRICS_TOKEN_FILE: .* holds under 16 characters/);
    expect(() => parseConfig(['--metrics-token-file', join(dir, 'none')], {})).toThrow(/METRICS_TOKEN_FILE: cannot read/);
    expect(() => parseConfig([], { METRICS_PORT: '0' })).toThrow(/--metrics-port \/ METRICS_PORT "0"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('in a pod without a ServiceAccount token, refuses to start rather than fall back to local mode', () => {
  expect(() => parseConfig([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toThrow(/ServiceAccount token/);
  expect(parseConfig(['--kubeconfig', '/k'], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).cluster.kind).toBe('kubeconfig');
});

it('turns tracing on with an OTLP endpoint, and checks it is a URL', () => {
  expect(parseConfig([], {}).otelEndpoint).toBeUndefined();
  expect(parseConfig([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otelEndpoint).toBe('http://collector:4318');
  expect(() => parseConfig(['--otel-endpoint', 'collector'], {})).toThrow(/--otel-endpoint \/ OTEL_EXPORTER_OTLP_ENDPOINT/);
});

it('allows anonymous access only in local mode on a loopback host, refusing with a message that says why', () => {
  expect(parseConfig(['--auth', 'anonymous', '--host', '::1'], {})).toMatchObject({ auth: 'anonymous', host: '::1' });
  expect(parseConfig(['--auth', 'anonymous', '--host', 'localhost'], {}).auth).toBe('anonymous');
  expect(parseConfig(['--auth', 'anonymous', '--host', '127.0.0.2'], {}).auth).toBe('anonymous');
  expect(() => parseConfig(['--auth', 'anonymous', '--kubeconfig', '/k', '--host', '127.0.0.1'], {})).toThrow(
    new ConfigError(
      "--auth anonymous is only allowed in local mode (no --kubeconfig, KUBECONFIG or ServiceAccount): with a named cluster every caller would act with the gateway's rights; use --auth token",
    ),
  );
  expect(() => parseConfig([], { AUTH_MODE: 'anonymous', KUBECONFIG: '/k' })).toThrow(/only allowed in local mode/);
  expect(() => parseConfig(['--auth', 'anonymous', '--host', '0.0.0.0'], {})).toThrow(
    new ConfigError(
      '--auth anonymous is only allowed on a loopback --host (127.0.0.1, ::1 or localhost), not "0.0.0.0": use --auth token to serve other machines',
    ),
  );
  // Local mode on another interface must ask for tokens explicitly.
  expect(() => parseConfig(['--host', '192.168.1.5'], {})).toThrow(/not "192.168.1.5"/);
  expect(parseConfig(['--host', '192.168.1.5', '--auth', 'token'], {}).auth).toBe('token');
});

it('runs arbitrary operations by default, and only the trusted documents of --persisted-documents when given', () => {
  expect(parseConfig([], {}).persistedDocuments).toBeUndefined();
  const dir = mkdtempSync(join(tmpdir(), 'persisted-documents-'));
  try {
    const file = join(dir, 'persisted-documents.json');
    writeFileSync(file, JSON.stringify({ abc: 'query A { resourceTypes { name } }' }));
    expect([...(parseConfig(['--persisted-documents', file], {}).persistedDocuments ?? [])]).toEqual([
      ['abc', 'query A { resourceTypes { name } }'],
    ]);
    expect(parseConfig([], { PERSISTED_DOCUMENTS: file }).persistedDocuments?.size).toBe(1);
    writeFileSync(file, JSON.stringify({ abc: 42 }));
    expect(() => parseConfig(['--persisted-documents', file], {})).toThrow(
      /PERSISTED_DOCUMENTS: .* the document of "abc" is not a non-empty string/,
    );
    writeFileSync(file, '{}');
    expect(() => parseConfig(['--persisted-documents', file], {})).toThrow(/PERSISTED_DOCUMENTS: .* holds no documents/);
    expect(() => parseConfig(['--persisted-documents', join(dir, 'none')], {})).toThrow(/PERSISTED_DOCUMENTS: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("each component's own defaults (used when it is built alone, as unit tests do) are the settings table's", () => {
  const c = parseConfig([], {});
  const l = c.limits;
  expect(defaultQueryLimits).toEqual({
    maxDepth: l.maxDepth,
    maxAliases: l.maxAliases,
    maxTokens: l.maxTokens,
    maxCost: l.maxCost,
  });
  // sliceMs is a constant (docs/security.md, "Event-loop slice"), not a setting.
  expect(defaultExecutionBudget).toEqual({ sliceMs: 4, maxObjects: l.maxResolvedObjects, maxResponseBytes: l.maxResponseBytes });
  expect(defaultRateLimit).toEqual({
    burst: l.rateBurst,
    perSecond: l.ratePerSecond,
    costBurst: l.rateCostBurst,
    costPerSecond: l.rateCostPerSecond,
    subscribeBurst: l.rateSubscribeBurst,
    subscribePerSecond: l.rateSubscribePerSecond,
  });
  expect(defaultYamlLimits).toEqual({
    maxBytes: l.yamlMaxBytes,
    maxDepth: l.yamlMaxDepth,
    maxAliases: l.yamlMaxAliases,
    parseTimeoutMs: l.yamlParseTimeoutMs,
  });
  expect(defaultEventLogLimits).toEqual({ maxEvents: l.eventLogEvents, maxBytes: l.eventLogBytes });
  expect(defaultWebSocketLimits).toMatchObject({
    maxMessageBytes: l.wsMaxMessageBytes,
    maxConnections: l.wsMaxConnections,
    maxConnectionsPerClient: l.wsMaxConnectionsPerClient,
    maxSubscriptionsPerConnection: l.wsMaxSubscriptions,
  });
  expect(defaultHttpPolicy).toMatchObject({
    maxBodyBytes: l.maxBodyBytes,
    introspection: c.introspection,
    corsOrigins: c.corsOrigins,
  });
  expect(defaultMaxAccessReviews).toBe(l.maxAccessReviews);
  expect(defaultReviewCacheLimits).toMatchObject({ maxEntries: l.accessReviewCacheEntries, maxBytes: l.accessReviewCacheBytes });
  expect(defaultTokenCacheLimits).toMatchObject({ maxEntries: l.tokenCacheEntries, maxBytes: l.tokenCacheBytes });
  expect(defaultAuthFailureLimit).toMatchObject({ maxFailures: l.authFailuresPerClient, windowMs: l.authFailureWindowMs });
  expect(defaultSubscriptionLimits.maxPerUser).toBe(l.maxSubscriptionsPerUser);
});
