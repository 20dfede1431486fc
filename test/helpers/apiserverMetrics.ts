import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

/**
 * The kube-apiserver's own request counters (`/metrics`), read with the
 * kubeconfig's credentials (an admin's: reading /metrics needs `get` on the
 * non-resource URL). Used by integration tests (no N+1) and by the benchmark.
 *
 * Counts are cumulative since the apiserver started: take one before and one
 * after, and subtract. The apiserver bumps a counter after it has written the
 * response: `requestsOf` waits for that with a marker request.
 */

/** Which requests count. Empty or absent lists mean "all". */
export interface MetricsFilter {
  /** API groups (label `group`), e.g. `['tekton.dev', 'resources.tekton.dev']`; `''` is the core group and non-resource URLs. */
  groups?: readonly string[];
  /** Resources (label `resource`, the plural), e.g. `['pipelineresources']`. */
  resources?: readonly string[];
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Verbs that are not one-off requests: the cache's watches and proxied streams are not per-query work. */
const longRunningVerbs = new Set(['WATCH', 'CONNECT']);

/**
 * Non-WATCH, non-CONNECT requests the apiserver has answered (`apiserver_request_total`,
 * every response code), summed. Without a `groups` filter this includes the
 * apiserver's own background traffic and the `/metrics` reads themselves.
 */
export async function requestCount(kubeconfigPath: string, filter: MetricsFilter = {}): Promise<number> {
  const tally = await requestTally(kubeconfigPath, filter);
  return Object.values(tally).reduce((a, b) => a + b, 0);
}

/**
 * The same requests as `requestCount`, keyed by `VERB group/resource[/subresource]`
 * (e.g. `LIST tekton.dev/pipelineresources`): subtract two tallies to see what a
 * query did.
 */
export async function requestTally(kubeconfigPath: string, filter: MetricsFilter = {}): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (const s of parsePrometheusText(await scrapeMetrics(kubeconfigPath), 'apiserver_request_total')) {
    const verb = s.labels.verb ?? '';
    if (longRunningVerbs.has(verb) || !matches(s.labels, filter)) continue;
    const { group = '', resource = '', subresource = '' } = s.labels;
    const key = `${verb} ${group}/${resource}${subresource ? `/${subresource}` : ''}`;
    tally[key] = (tally[key] ?? 0) + s.value;
  }
  return tally;
}

/** `after - before` per key, dropping zeros. */
export function tallyDiff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) diff[key] = d;
  }
  return diff;
}

/**
 * The requests `run` made, keyed as `requestTally` keys them. The apiserver counts a request only once it has
 * answered it, so after `run` a marker request goes out (a GET of the `status` of a PipelineResource that does not
 * exist, which nothing else asks for) and the counters are read until the marker is counted: every request `run`
 * waited for was answered before the marker was sent. The marker is not in the result; `filter` must admit
 * `tekton.dev`.
 */
export async function requestsOf(
  kubeconfigPath: string,
  filter: MetricsFilter,
  run: () => Promise<unknown>,
  timeoutMs = 10_000,
): Promise<Record<string, number>> {
  const before = await requestTally(kubeconfigPath, filter);
  await run();
  const { url, headers, dispatcher } = endpoint(kubeconfigPath);
  const marker = `${url.replace(/\/metrics$/, '')}/apis/tekton.dev/v1alpha1/namespaces/default/pipelineresources/request-count-marker/status`;
  const res = await fetch(marker, { headers: { ...headers, Accept: 'application/json' }, dispatcher });
  await res.text();
  const markerKey = 'GET tekton.dev/pipelineresources/status';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diff = tallyDiff(before, await requestTally(kubeconfigPath, filter));
    if ((diff[markerKey] ?? 0) >= 1) {
      const markers = (diff[markerKey] ?? 0) - 1;
      if (markers > 0) diff[markerKey] = markers;
      else delete diff[markerKey];
      return diff;
    }
    if (Date.now() > deadline) throw new Error(`the apiserver did not count the marker request in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Watches open on the apiserver right now: the gauge `apiserver_longrunning_requests`
 * with `verb="WATCH"`, summed (kube-apiserver v1.37 has no `apiserver_registered_watchers`).
 */
export async function watchCount(kubeconfigPath: string, filter: MetricsFilter = {}): Promise<number> {
  let total = 0;
  for (const s of parsePrometheusText(await scrapeMetrics(kubeconfigPath), 'apiserver_longrunning_requests')) {
    if (s.labels.verb === 'WATCH' && matches(s.labels, filter)) total += s.value;
  }
  return total;
}

function matches(labels: Record<string, string>, filter: MetricsFilter): boolean {
  if (filter.groups?.length && !filter.groups.includes(labels.group ?? '')) return false;
  if (filter.resources?.length && !filter.resources.includes(labels.resource ?? '')) return false;
  return true;
}

interface Endpoint {
  url: string;
  headers: Record<string, string>;
  dispatcher: Agent;
}

const endpoints = new Map<string, Endpoint>();

function endpoint(kubeconfigPath: string): Endpoint {
  const known = endpoints.get(kubeconfigPath);
  if (known) return known;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster) throw new Error(`${kubeconfigPath}: no current cluster`);
  const pem = (data: string | undefined, file: string | undefined) =>
    data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined;
  const ca = pem(cluster.caData, cluster.caFile);
  const cert = pem(user?.certData, user?.certFile);
  const key = pem(user?.keyData, user?.keyFile);
  const token = user?.token;
  if (!token && !(cert && key)) throw new Error(`${kubeconfigPath}: the user has neither a token nor a client certificate`);
  const ep: Endpoint = {
    url: `${cluster.server.replace(/\/$/, '')}/metrics`,
    headers: { Accept: 'text/plain', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    dispatcher: new Agent({
      connect: {
        ...(ca ? { ca } : {}),
        ...(cert && key ? { cert, key } : {}),
        ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
        ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      },
    }),
  };
  endpoints.set(kubeconfigPath, ep);
  return ep;
}

/** The apiserver's `/metrics` text, as the kubeconfig's current user. */
export async function scrapeMetrics(kubeconfigPath: string): Promise<string> {
  const { url, headers, dispatcher } = endpoint(kubeconfigPath);
  const res = await fetch(url, { headers, dispatcher, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/**
 * Samples of the Prometheus text exposition format (`name{label="value",...} value [timestamp]`),
 * only those named `only` when given. Label values may hold commas, braces,
 * spaces and the escapes `\\`, `\"` and `\n`.
 */
export function parsePrometheusText(text: string, only?: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // Cheap pre-filter: /metrics has thousands of lines.
    if (only && !(line.startsWith(only) && (line[only.length] === '{' || line[only.length] === ' '))) continue;
    const sample = parseLine(line);
    if (sample && (!only || sample.name === only)) samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | undefined {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (i >= line.length) return undefined;
      if (line[i] === '}') {
        i++;
        break;
      }
      const eq = line.indexOf('=', i);
      if (eq < 0 || line[eq + 1] !== '"') return undefined;
      const label = line.slice(i, eq).trim();
      i = eq + 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      labels[label] = value;
    }
  }
  const valueText = line.slice(i).trim().split(/\s+/)[0] ?? '';
  const value = parseValue(valueText);
  return Number.isNaN(value) && valueText !== 'NaN' ? undefined : { name, labels, value };
}

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return text === '' ? Number.NaN : Number(text);
}
