import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace, eventually } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createObjects, gitResource } from '../helpers/objects.js';

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;
const scrapeToken = 'metrics-test-scrape-token';

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('metrics'));
  gw = await startGateway({ metricsAccess: { token: scrapeToken } });
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

/** The value of one series in Prometheus text, or undefined. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

it('/metrics shows requests, operations, errors, Kubernetes calls, the cache and subscribers', async () => {
  const sub = collect(gw.ws(), `subscription Watch { pipelineResourceEvents(namespace: "${ns}") { type } }`);
  await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
  await createObjects(ns, [gitResource('measured')]);
  await eventually(() => (sub.received.length > 0 ? true : undefined));
  await gw.gql('query Types { resourceTypes { name } }');
  await gw.gql('{ pipelineResources(labelSelector: "a in (") { totalCount } }');
  await gw.gql('{ nope }');

  const res = await fetch(gw.url.replace('/graphql', '/metrics'), { headers: { authorization: `Bearer ${scrapeToken}` } });
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(value(text, 'gateway_http_request_duration_seconds_count', { path: '/graphql', status: '200' })).toBeGreaterThanOrEqual(
    3,
  );
  expect(value(text, 'gateway_graphql_operation_duration_seconds_count', { type: 'query', name: 'Types' })).toBe(1);
  expect(value(text, 'gateway_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);
  expect(value(text, 'gateway_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
  expect(
    value(text, 'gateway_kubernetes_requests_total', { verb: 'LIST', resource: 'pipelineresources', code: '200' }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    value(text, 'gateway_kubernetes_requests_total', { verb: 'WATCH', resource: 'pipelineresources', code: '200' }),
  ).toBeGreaterThanOrEqual(1);
  expect(value(text, 'gateway_cache_objects', { kind: 'PipelineResource' })).toBeGreaterThanOrEqual(1);
  expect(value(text, 'gateway_cache_synced', { kind: 'PipelineRun' })).toBe(1);
  expect(value(text, 'gateway_watch_restarts', { kind: 'Pipeline' })).toBe(0);
  expect(value(text, 'gateway_subscribers', { kind: 'PipelineResource' })).toBe(1);
  expect(value(text, 'gateway_subscription_events_total', { kind: 'pipelineResourceEvents' })).toBeGreaterThanOrEqual(1);
  sub.dispose();
});
