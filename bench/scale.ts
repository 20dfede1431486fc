/**
 * Scaling benchmark: query latency (p50) and Kubernetes requests per query
 * against the number of PipelineResources (100, 1,000, 10,000 by default), for
 * the gateway with its warm cache, the gateway with cache and batching off
 * (`readMode: 'naive'`) and the same data read straight with client-node.
 * Each size is seeded (bench/seed.ts) into its own namespace of one control
 * plane; the query is bench/query.ts's Q. Writes the figures as JSON, a chart
 * as SVG (drawn here, no plotting library) and a table to stdout.
 *
 *   npm run bench:scale -- [--sizes 100,1000,10000] [--iterations 20] [--naive-limit-s 360]
 *                          [--json bench-scale.json] [--svg docs/benchmarks-scale.svg]
 *   npm run bench:scale -- --replot bench-scale.json   # only redraw the SVG from a JSON
 *
 * The naive mode costs O(N²) (one LIST of the namespace's bindings per resource
 * and field): before each full naive query it runs Q for the first 50 resources
 * only, and if the whole query would, extrapolated, take longer than
 * --naive-limit-s it is not run; its figures are then estimates, marked so.
 *
 * Uses the cluster TEST_KUBECONFIG names (an admin's kubeconfig), else starts
 * the local kube-apiserver + etcd in a temporary folder and removes it after.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseConfig } from '../src/config.js';
import type { KubeClient } from '../src/kube/KubeClient.js';
import type { KindName } from '../src/kube/kinds.js';
import { type MetricsFilter, requestTally, tallyDiff } from '../test/helpers/apiserverMetrics.js';
import { BenchCluster, GatewayPool, onInterrupt } from './cluster.js';
import { benchQuery, detectOptionalFields, directFetcher, gql, runQuery } from './query.js';
import { type SeedCounts, seed, withRetry } from './seed.js';
import { percentile, round, sum } from './stats.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cachedKinds: KindName[] = parseConfig([], { CACHE_KINDS: process.env.CACHE_KINDS }).cacheKinds;
const countedGroups: MetricsFilter = { groups: ['tekton.dev', 'resources.tekton.dev'] };
const settleMs = 250;
const syncTimeoutMs = 300_000;
const warmupRuns = 2;
/** Resources in the naive sample query (its first page only). */
const sampleSize = 50;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    iterations: { type: 'string', default: '20' },
    'naive-limit-s': { type: 'string', default: '360' },
    json: { type: 'string', default: 'bench-scale.json' },
    svg: { type: 'string' },
    replot: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: npm run bench:scale -- [--sizes 100,1000,10000] [--iterations 20] [--naive-limit-s 360] [--json <file>] [--svg <file>]\n' +
      '       npm run bench:scale -- --replot <json> [--svg <file>]\n',
  );
  process.exit(0);
}
const positiveInt = (text: string, what: string) => {
  const n = Number(text.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, not ${text}`);
  return n;
};
const sizes = [...new Set(args.sizes.split(',').map((s) => positiveInt(s.trim(), '--sizes')))].sort((a, b) => a - b);
const iterations = positiveInt(args.iterations, '--iterations');
const naiveLimitMs = positiveInt(args['naive-limit-s'], '--naive-limit-s') * 1000;
const here = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);
const jsonPath = here(args.json);
const svgPath = args.svg ? here(args.svg) : join(root, 'docs', 'benchmarks-scale.svg');

const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const began = performance.now();
const say = (msg: string) => process.stderr.write(`[scale ${((performance.now() - began) / 1000).toFixed(1)}s] ${msg}\n`);

export interface SeriesPoint {
  /** Median wall time of one whole query (all pages), ms; for an estimate, the extrapolated time. */
  p50Ms: number | null;
  p99Ms?: number | null;
  k8sRequestsPerQuery: number | null;
  /** Queries measured (0: not run, the figures are estimates). */
  runs: number;
  estimated?: boolean;
  requestsPerQuery?: Record<string, number>;
}

export interface NaivePoint extends SeriesPoint {
  /** Q for the first `resources` resources only (one page), the base of the estimate. */
  sample: { resources: number; ms: number; requests: number; requestsByKind: Record<string, number> } | null;
  /** What the sample extrapolates to for the whole query, also where it was run (a check of the estimate). */
  estimateMs: number | null;
  estimateRequests: number | null;
  note: string | null;
}

export interface SizeResult {
  objects: number;
  namespace: string;
  seeded: SeedCounts;
  seedSeconds: number;
  pagesPerQuery: number;
  gateway: SeriesPoint;
  direct: SeriesPoint;
  naive: NaivePoint;
}

export interface ScaleResult {
  sizes: number[];
  results: SizeResult[];
  details: {
    queryFields: string[];
    iterations: { gateway: number; direct: number; naive: number; warmup: number };
    naiveLimitSeconds: number;
    cachedKinds: string[];
    countedGroups: string[];
    machine: { nproc: number; cpu: string; memoryGiB: number; node: string; kubeApiserver: string; controlPlane: string };
    date: string;
    totalSeconds: number;
  };
}

async function counted(kubeconfigPath: string): Promise<Record<string, number>> {
  await delay(settleMs);
  return requestTally(kubeconfigPath, countedGroups);
}

const perQuery = (tally: Record<string, number>, queries: number) =>
  Object.fromEntries(Object.entries(tally).map(([k, v]) => [k, round(v / queries, 2)]));

async function measure(runs: number, fn: () => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms;
}

async function main(): Promise<void> {
  let cluster: BenchCluster | undefined;
  let admin: KubeClient | undefined;
  const namespaces: string[] = [];
  let pool: GatewayPool | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await pool?.stopAll();
    if (cluster && !cluster.local && admin) {
      const client = admin;
      await Promise.all(namespaces.map((ns) => client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {})));
    }
    await cluster?.stop();
  };
  const offInterrupt = onInterrupt(cleanup, say);
  try {
    cluster = await BenchCluster.open(root, logger, say);
    const kubeconfigPath = cluster.kubeconfigPath;
    pool = new GatewayPool(kubeconfigPath, logger, { kinds: cachedKinds, syncTimeoutMs });
    admin = cluster.admin;
    const client = admin;
    const version = await withRetry('GET /version', () => client.request<{ gitVersion: string }>('GET', '/version'));

    const suffix = randomBytes(3).toString('hex');
    const rows: SizeResult[] = [];
    for (const n of sizes) {
      const namespace = `scale-${n}-${suffix}`;
      namespaces.push(namespace);
      say(`seeding ${n} PipelineResources, pipelines and bindings into ${namespace}`);
      const t = performance.now();
      const seeded = await seed(client, namespace, n);
      const seedSeconds = round((performance.now() - t) / 1000, 1);
      say(`seeded ${JSON.stringify(seeded)} in ${seedSeconds}s`);
      rows.push({
        objects: n,
        namespace,
        seeded,
        seedSeconds,
        pagesPerQuery: 0,
        gateway: { p50Ms: null, k8sRequestsPerQuery: null, runs: 0 },
        direct: { p50Ms: null, k8sRequestsPerQuery: null, runs: 0 },
        naive: {
          p50Ms: null,
          k8sRequestsPerQuery: null,
          runs: 0,
          sample: null,
          estimateMs: null,
          estimateRequests: null,
          note: null,
        },
      });
    }

    // Warm gateway: one, its cache synced over every namespace; per size, Q run twice unmeasured then `iterations` times.
    say('warm gateway: starting and syncing its cache');
    const warm = await pool.start('cached');
    const fields = await detectOptionalFields(warm.url);
    const query = benchQuery(fields);
    for (const row of rows) {
      say(`gateway, ${row.objects}: ${iterations} warm queries`);
      for (let i = 0; i < warmupRuns; i++) {
        const r = await runQuery(warm.url, query, row.namespace);
        if (r.rows.length !== row.objects) throw new Error(`the gateway returned ${r.rows.length} of ${row.objects} resources`);
        row.pagesPerQuery = r.pages;
      }
      const before = await counted(kubeconfigPath);
      const ms = await measure(iterations, async () => void (await runQuery(warm.url, query, row.namespace)));
      const tally = tallyDiff(before, await counted(kubeconfigPath));
      row.gateway = {
        p50Ms: round(percentile(ms, 50), 1),
        p99Ms: round(percentile(ms, 99), 1),
        k8sRequestsPerQuery: round(sum(Object.values(tally)) / iterations, 2),
        runs: iterations,
        requestsPerQuery: perQuery(tally, iterations),
      };
    }
    await pool.stop(warm);

    // Direct: three LISTs with client-node, joined in memory (bench/query.ts). Before the naive phase, which leaves
    // the apiserver busy for a while after.
    const direct = directFetcher(cluster.kubeConfig);
    for (const row of rows) {
      say(`client-node, ${row.objects}: ${iterations} reads`);
      for (let i = 0; i < warmupRuns; i++) {
        const got = await direct(row.namespace);
        if (got.length !== row.objects) throw new Error(`client-node returned ${got.length} of ${row.objects} resources`);
      }
      const before = await counted(kubeconfigPath);
      const ms = await measure(iterations, async () => void (await direct(row.namespace)));
      const tally = tallyDiff(before, await counted(kubeconfigPath));
      row.direct = {
        p50Ms: round(percentile(ms, 50), 1),
        p99Ms: round(percentile(ms, 99), 1),
        k8sRequestsPerQuery: round(sum(Object.values(tally)) / iterations, 2),
        runs: iterations,
        requestsPerQuery: perQuery(tally, iterations),
      };
    }

    // Naive: per size, a sample (Q's first page cut to 50 resources), its extrapolation, then one whole query
    // unless the extrapolation exceeds the limit.
    say('naive gateway: starting (its cache syncs, but reads bypass it)');
    const naive = await pool.start('naive');
    const sampleQuery = query.replace('first: 500', `first: ${sampleSize}`);
    if (sampleQuery === query) throw new Error('bench/query.ts Q no longer has "first: 500"; update the sample query');
    for (const row of rows) {
      const k = Math.min(sampleSize, row.objects);
      say(`naive, ${row.objects}: sample of ${k} resources`);
      const before = await counted(kubeconfigPath);
      const t = performance.now();
      const res = await gql<{ pipelineResources: { edges: unknown[] } }>(naive.url, sampleQuery, { ns: row.namespace });
      const sampleMs = performance.now() - t;
      const sampleTally = tallyDiff(before, await counted(kubeconfigPath));
      if (res.errors?.length || res.data?.pipelineResources.edges.length !== k) {
        row.naive.note = `the naive sample query failed: ${res.errors?.map((e) => e.message).join('; ') ?? 'wrong count'}`;
        say(row.naive.note);
        continue;
      }
      // Requests: each page LISTs every PipelineResource of the namespace (500 a LIST); the rest is per resource.
      const listKey = 'LIST tekton.dev/pipelineresources';
      const resourceLists = sampleTally[listKey] ?? 0;
      const perResource = (sum(Object.values(sampleTally)) - resourceLists) / k;
      const pages = Math.ceil(row.objects / 500);
      row.naive.sample = {
        resources: k,
        ms: round(sampleMs, 0),
        requests: sum(Object.values(sampleTally)),
        requestsByKind: sampleTally,
      };
      row.naive.estimateMs = round((sampleMs * row.objects) / k, 0);
      row.naive.estimateRequests = Math.round(pages * resourceLists + perResource * row.objects);
      say(
        `naive, ${row.objects}: sample ${round(sampleMs, 0)} ms, ${row.naive.sample.requests} requests; ` +
          `whole query extrapolated to ${fmtEstMs(row.naive.estimateMs)}, ~${row.naive.estimateRequests} requests`,
      );
      if (row.naive.estimateMs > naiveLimitMs) {
        row.naive.p50Ms = row.naive.estimateMs;
        row.naive.k8sRequestsPerQuery = row.naive.estimateRequests;
        row.naive.estimated = true;
        row.naive.note =
          `not run: extrapolated from the first ${k} resources to ${fmtEstMs(row.naive.estimateMs)} per query, ` +
          `over the ${naiveLimitMs / 1000} s limit; the figures are that estimate`;
        say(`naive, ${row.objects}: ${row.naive.note}`);
        continue;
      }
      say(`naive, ${row.objects}: one whole query`);
      const b = await counted(kubeconfigPath);
      const t0 = performance.now();
      const r = await runQuery(naive.url, query, row.namespace);
      const ms = performance.now() - t0;
      const tally = tallyDiff(b, await counted(kubeconfigPath));
      if (r.rows.length !== row.objects)
        throw new Error(`the naive gateway returned ${r.rows.length} of ${row.objects} resources`);
      row.naive.p50Ms = round(ms, 1);
      row.naive.k8sRequestsPerQuery = sum(Object.values(tally));
      row.naive.runs = 1;
      row.naive.requestsPerQuery = tally;
    }
    await pool.stop(naive);

    const result: ScaleResult = {
      sizes,
      results: rows,
      details: {
        queryFields: ['name', 'type', 'params', ...fields],
        iterations: { gateway: iterations, direct: iterations, naive: 1, warmup: warmupRuns },
        naiveLimitSeconds: naiveLimitMs / 1000,
        cachedKinds,
        countedGroups: [...(countedGroups.groups ?? [])],
        machine: cluster.machine(version.gitVersion),
        date: new Date().toISOString(),
        totalSeconds: round((performance.now() - began) / 1000, 1),
      },
    };
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(svgPath, renderSvg(result));
    printTable(result);
    say(`wrote ${jsonPath} and ${svgPath}`);
  } finally {
    say('stopping');
    await cleanup();
    offInterrupt();
  }
}

// ---- formatting ----

function fmtMs(ms: number): string {
  if (ms < 10) return `${round(ms, 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${round(ms / 1000, ms < 10_000 ? 2 : 1)} s`;
  return `${round(ms / 60_000, 1)} min`;
}

/** An extrapolation, to two significant digits: its third would claim too much. */
function fmtEstMs(ms: number): string {
  const two = (v: number) => Number(v.toPrecision(2));
  if (ms >= 60_000) return `~${two(ms / 60_000)} min`;
  if (ms >= 1000) return `~${two(ms / 1000)} s`;
  return `~${two(ms)} ms`;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtReq = (n: number) => (n < 10 && !Number.isInteger(n) ? String(round(n, 2)) : fmtInt(n));

function printTable(r: ScaleResult): void {
  const head = [
    'objects',
    'gateway p50',
    'gateway req/q',
    'client-node p50',
    'client-node req/q',
    'naive (1 run)',
    'naive req/q',
  ];
  const lines = r.results.map((row) => {
    const est = row.naive.estimated ? '~' : '';
    return [
      fmtInt(row.objects),
      row.gateway.p50Ms === null ? 'n/a' : fmtMs(row.gateway.p50Ms),
      row.gateway.k8sRequestsPerQuery === null ? 'n/a' : fmtReq(row.gateway.k8sRequestsPerQuery),
      row.direct.p50Ms === null ? 'n/a' : fmtMs(row.direct.p50Ms),
      row.direct.k8sRequestsPerQuery === null ? 'n/a' : fmtReq(row.direct.k8sRequestsPerQuery),
      row.naive.p50Ms === null ? 'n/a' : est ? fmtEstMs(row.naive.p50Ms) : fmtMs(row.naive.p50Ms),
      row.naive.k8sRequestsPerQuery === null ? 'n/a' : `${est}${fmtReq(row.naive.k8sRequestsPerQuery)}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const out = [
    `scale benchmark: query fields ${r.details.queryFields.join(', ')}; p50 of ${r.details.iterations.gateway} warm runs`,
    `  ${fmt(head)}`,
    ...lines.map((l) => `  ${fmt(l)}`),
  ];
  for (const row of r.results) {
    const s = row.naive.sample;
    if (s && !row.naive.estimated && row.naive.p50Ms !== null && row.naive.estimateMs !== null)
      out.push(
        `  naive ${fmtInt(row.objects)}: sample of ${s.resources} extrapolated to ${fmtMs(row.naive.estimateMs)} / ${fmtInt(row.naive.estimateRequests ?? 0)} requests; measured ${fmtMs(row.naive.p50Ms)} / ${fmtInt(row.naive.k8sRequestsPerQuery ?? 0)}`,
      );
    if (row.naive.note) out.push(`  naive ${fmtInt(row.objects)}: ${row.naive.note}`);
  }
  out.push(`  total ${r.details.totalSeconds} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---- the chart ----

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

interface Series {
  key: 'gateway' | 'naive' | 'direct';
  label: string;
  color: string;
  marker: 'circle' | 'square' | 'diamond';
  /** Where the value labels go, away from the lines: lines rise to the right. */
  place: 'below-right' | 'above-left';
}

const series: Series[] = [
  { key: 'gateway', label: 'gateway, warm cache', color: '#1f6fb4', marker: 'circle', place: 'below-right' },
  { key: 'direct', label: 'client-node direct (3 LISTs + join)', color: '#2a9a3a', marker: 'diamond', place: 'above-left' },
  { key: 'naive', label: 'gateway, naive (no cache, no batching)', color: '#d0392b', marker: 'square', place: 'above-left' },
];

function marker(kind: Series['marker'], x: number, y: number, color: string, hollow: boolean): string {
  const fill = hollow ? 'white' : color;
  const common = `fill="${fill}" stroke="${color}" stroke-width="${hollow ? 2 : 1.5}"`;
  if (kind === 'circle') return `<circle cx="${x}" cy="${y}" r="4.5" ${common}/>`;
  if (kind === 'square') return `<rect x="${x - 4}" y="${y - 4}" width="8" height="8" ${common}/>`;
  return `<path d="M${x} ${y - 5.5}L${x + 5.5} ${y}L${x} ${y + 5.5}L${x - 5.5} ${y}Z" ${common}/>`;
}

interface Panel {
  title: string;
  x0: number;
  y0: number;
  w: number;
  h: number;
  value: (p: SeriesPoint) => number | null;
  tick: (exp: number) => string;
  label: (v: number, estimated: boolean) => string;
  /** Draws 0 on a row of its own below the lowest decade (a log axis has no 0). */
  zeroRow: boolean;
  /** Value labels above-left of the points for every series (else each series' own place). */
  labelsAbove: boolean;
  yTitle: string;
}

function renderPanel(p: Panel, r: ScaleResult): string {
  const out: string[] = [];
  const points = r.results.flatMap((row) => series.map((s) => p.value(row[s.key]))).filter((v): v is number => v !== null);
  const positive = points.filter((v) => v > 0);
  const lo = Math.min(0, Math.floor(Math.log10(Math.min(...positive, 10))));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive, 10))));
  const zeroGap = p.zeroRow ? 26 : 0;
  const plotH = p.h - zeroGap;
  const y = (v: number) => (v <= 0 ? p.y0 + p.h : p.y0 + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH);
  const xLo = Math.log10(Math.min(...r.sizes)) - 0.45;
  const xHi = Math.log10(Math.max(...r.sizes)) + 0.45;
  const x = (n: number) => p.x0 + ((Math.log10(n) - xLo) / (xHi - xLo)) * p.w;
  const f = (n: number) => round(n, 1);

  out.push(`<text x="${p.x0 + p.w / 2}" y="${p.y0 - 14}" class="title" text-anchor="middle">${esc(p.title)}</text>`);
  // Grid and y ticks: decades, with faint lines at 2 and 5.
  for (let e = lo; e <= hi; e++) {
    const yy = f(y(10 ** e));
    out.push(`<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${yy}" y2="${yy}" class="grid"/>`);
    out.push(`<line x1="${p.x0 - 5}" x2="${p.x0}" y1="${yy}" y2="${yy}" class="axis"/>`);
    out.push(`<text x="${p.x0 - 8}" y="${yy + 4}" class="tick" text-anchor="end">${esc(p.tick(e))}</text>`);
    if (e < hi)
      for (const m of [2, 5]) {
        const ym = f(y(m * 10 ** e));
        out.push(`<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${ym}" y2="${ym}" class="minor"/>`);
        out.push(`<line x1="${p.x0 - 3}" x2="${p.x0}" y1="${ym}" y2="${ym}" class="axis"/>`);
      }
  }
  if (p.zeroRow) {
    const yz = p.y0 + p.h;
    out.push(`<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${yz}" y2="${yz}" class="grid"/>`);
    out.push(`<text x="${p.x0 - 8}" y="${yz + 4}" class="tick" text-anchor="end">0</text>`);
    // Axis break between 0 and the lowest decade.
    const yb = p.y0 + plotH + zeroGap / 2;
    out.push(`<rect x="${p.x0 - 6}" y="${yb - 4}" width="12" height="8" fill="white"/>`);
    out.push(`<path d="M${p.x0 - 6} ${yb - 1}l12 -4M${p.x0 - 6} ${yb + 5}l12 -4" class="axis"/>`);
  }
  // Axes: y from the top to the lowest decade and from the break to 0; x at the bottom.
  const yAxisBottom = p.zeroRow ? p.y0 + plotH + zeroGap / 2 - 4 : p.y0 + p.h;
  out.push(`<line x1="${p.x0}" x2="${p.x0}" y1="${p.y0}" y2="${yAxisBottom}" class="axis"/>`);
  if (p.zeroRow)
    out.push(`<line x1="${p.x0}" x2="${p.x0}" y1="${p.y0 + plotH + zeroGap / 2 + 4}" y2="${p.y0 + p.h}" class="axis"/>`);
  out.push(`<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${p.y0 + p.h}" y2="${p.y0 + p.h}" class="axis"/>`);
  // x ticks: every decade in range, labelled at the sizes measured.
  for (let e = Math.ceil(xLo); e <= Math.floor(xHi); e++) {
    const xx = f(x(10 ** e));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${p.y0}" y2="${p.y0 + p.h}" class="grid"/>`);
  }
  for (const n of r.sizes) {
    const xx = f(x(n));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${p.y0 + p.h}" y2="${p.y0 + p.h + 5}" class="axis"/>`);
    out.push(`<text x="${xx}" y="${p.y0 + p.h + 19}" class="tick" text-anchor="middle">${fmtInt(n)}</text>`);
  }
  out.push(
    `<text x="${p.x0 + p.w / 2}" y="${p.y0 + p.h + 38}" class="label" text-anchor="middle">PipelineResources in the namespace (log scale)</text>`,
  );
  out.push(
    `<text transform="translate(${p.x0 - 62} ${p.y0 + p.h / 2}) rotate(-90)" class="label" text-anchor="middle">${esc(p.yTitle)}</text>`,
  );
  // Lines, then markers and value labels.
  for (const s of series) {
    const pts = r.results
      .map((row) => ({ n: row.objects, v: p.value(row[s.key]), est: row[s.key].estimated === true }))
      .filter((q): q is { n: number; v: number; est: boolean } => q.v !== null);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1] as (typeof pts)[number];
      const b = pts[i] as (typeof pts)[number];
      const dash = a.est || b.est ? ' stroke-dasharray="5 4"' : '';
      out.push(
        `<line x1="${f(x(a.n))}" y1="${f(y(a.v))}" x2="${f(x(b.n))}" y2="${f(y(b.v))}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      );
    }
    for (const q of pts) {
      const xx = f(x(q.n));
      const yy = f(y(q.v));
      out.push(marker(s.marker, xx, yy, s.color, q.est));
      const text = esc(p.label(q.v, q.est));
      if (p.labelsAbove || s.place === 'above-left')
        out.push(`<text x="${xx - 7}" y="${yy - 8}" class="value" fill="${s.color}" text-anchor="end">${text}</text>`);
      else out.push(`<text x="${xx + 8}" y="${yy + 15}" class="value" fill="${s.color}">${text}</text>`);
    }
  }
  return out.join('\n');
}

/** Greedy word wrap at `width` characters. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export function renderSvg(r: ScaleResult): string {
  const width = 1040;
  const height = 580;
  const m = r.details.machine;
  const msTick = (e: number) => (e < 3 ? `${fmtInt(10 ** e)} ms` : `${fmtInt(10 ** (e - 3))} s`);
  const panels: Panel[] = [
    {
      title: 'Query latency, p50',
      x0: 90,
      y0: 125,
      w: 390,
      h: 320,
      value: (p) => p.p50Ms,
      tick: (e) => (e < 0 ? `${10 ** e} ms` : msTick(e)),
      label: (v, est) => (est ? fmtEstMs(v) : fmtMs(v)),
      zeroRow: false,
      labelsAbove: false,
      yTitle: 'wall time of one whole query Q',
    },
    {
      title: 'Kubernetes requests per query',
      x0: 610,
      y0: 125,
      w: 390,
      h: 320,
      value: (p) => p.k8sRequestsPerQuery,
      tick: (e) => fmtInt(10 ** e),
      label: (v, est) => `${est ? '~' : ''}${fmtReq(v)}`,
      zeroRow: true,
      labelsAbove: true,
      yTitle: 'apiserver requests (tekton groups)',
    },
  ];
  const estimated = r.results.filter((row) => row.naive.estimated);
  const items = [
    ...series.map((s) => ({ ...s, hollow: false, dash: '' })),
    ...(estimated.length
      ? [{ label: 'not run, estimated', color: '#666', marker: 'square' as const, hollow: true, dash: ' stroke-dasharray="5 4"' }]
      : []),
  ];
  // Two columns, over the two panels.
  const legend: string[] = [];
  items.forEach((i, k) => {
    const lx = k % 2 === 0 ? 150 : 600;
    const ly = 52 + Math.floor(k / 2) * 20;
    legend.push(`<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${i.color}" stroke-width="2"${i.dash}/>`);
    legend.push(marker(i.marker, lx + 14, ly, i.color, i.hollow));
    legend.push(`<text x="${lx + 36}" y="${ly + 4}" class="legend">${esc(i.label)}</text>`);
  });
  const notes: string[] = [];
  for (const row of estimated)
    notes.push(
      `Naive at ${fmtInt(row.objects)} NOT RUN (hollow marker, dashed line): a query of its first ${row.naive.sample?.resources ?? '?'} resources extrapolates ` +
        `to ${fmtEstMs(row.naive.estimateMs ?? 0)} and ~${fmtInt(row.naive.estimateRequests ?? 0)} requests for the whole query, over the ${r.details.naiveLimitSeconds} s limit.`,
    );
  notes.push(
    `Q: every PipelineResource of one namespace with params, bindings and pipelines, 500 per page. Gateway and client-node: p50 of ${r.details.iterations.gateway} runs; naive: 1 run.`,
  );
  notes.push(
    'Requests counted by the kube-apiserver itself: apiserver_request_total for the groups tekton.dev and resources.tekton.dev, WATCH excluded.',
  );
  notes.push(
    `${m.nproc} vCPUs, ${m.memoryGiB} GiB, Node ${m.node}, kube-apiserver ${m.kubeApiserver} with etcd on the same machine; ${r.details.date.slice(0, 10)}; npm run bench:scale.`,
  );
  const lines = notes.flatMap((n) => wrap(n, 178));
  const title = `Tekton resource gateway: one query over 100 to ${fmtInt(Math.max(...r.sizes))} PipelineResources`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 15px; font-weight: bold; fill: #222; }
  .heading { font-size: 17px; font-weight: bold; fill: #111; }
  .tick { font-size: 11.5px; fill: #333; }
  .label { font-size: 12px; fill: #333; }
  .legend { font-size: 12px; fill: #222; }
  .value { font-size: 11px; font-weight: bold; }
  .note { font-size: 11px; fill: #444; }
  .axis { stroke: #333; stroke-width: 1; fill: none; }
  .grid { stroke: #d8d8d8; stroke-width: 1; }
  .minor { stroke: #efefef; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="28" class="heading" text-anchor="middle">${esc(title)}</text>
${legend.join('\n')}
${panels.map((p) => renderPanel(p, r)).join('\n')}
${lines.map((n, i) => `<text x="20" y="${height - 12 - (lines.length - 1 - i) * 15}" class="note">${esc(n)}</text>`).join('\n')}
</svg>
`;
}

if (args.replot) {
  const result = JSON.parse(readFileSync(here(args.replot), 'utf8')) as ScaleResult;
  writeFileSync(svgPath, renderSvg(result));
  process.stderr.write(`wrote ${svgPath}\n`);
} else {
  main().catch((err) => {
    say(`failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  });
}
