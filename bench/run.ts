/**
 * Benchmark (DESIGN.md section 8): seeds a real control plane and measures the
 * gateway's Kubernetes requests per query (warm cache, cold start, naive read
 * mode) and latency, against the same data read straight from the apiserver
 * with client-node; then, with a gateway in its own process, subscribers per
 * process, watches, event latency and memory per subscriber (subscriptions.ts).
 *
 *   npm run bench -- [--quick] [--objects N] [--subscribers N] [--scenarios one,diverse] [--only subscriptions] [--json bench.json]
 *
 * Uses the cluster TEST_KUBECONFIG names (an admin's kubeconfig), else starts
 * the local kube-apiserver + etcd in a temporary folder and removes it after.
 * Progress goes to stderr, the table to stdout, the figures to --json.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseConfig } from '../src/config.js';
import { type KindName, kinds } from '../src/kube/kinds.js';
import { type MetricsFilter, requestTally, tallyDiff, watchCount } from '../test/helpers/apiserverMetrics.js';
import { BenchCluster, GatewayPool, onInterrupt } from './cluster.js';
import { type HostileBenchResult, hostileBench } from './hostile.js';
import { benchQuery, detectOptionalFields, directFetcher, type ResourceRow, runQuery } from './query.js';
import { type SeedCounts, seed, seedObjects, withRetry } from './seed.js';
import { percentile, round, sum } from './stats.js';
import { type SubscriptionBenchResult, subscriptionBench } from './subscriptions.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The kinds the gateway caches: its default, as in production, unless CACHE_KINDS says otherwise. */
const cachedKinds: KindName[] = parseConfig([], { CACHE_KINDS: process.env.CACHE_KINDS }).cacheKinds;
/** Only the gateway's own kinds count: not the apiserver's background traffic (leases etc.) nor /metrics reads. */
const countedGroups: MetricsFilter = { groups: ['tekton.dev', 'resources.tekton.dev'] };
/** The apiserver counts a request after it has answered it: let the counters catch up before reading them. */
const settleMs = 250;
const syncTimeoutMs = 120_000;

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    objects: { type: 'string' },
    subscribers: { type: 'string' },
    scenarios: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: npm run bench -- [--quick] [--objects N] [--subscribers N] [--scenarios one,diverse] [--only subscriptions] [--json <file>]\n',
  );
  process.exit(0);
}
const quick = args.quick === true;
const objects = args.objects ? Number.parseInt(args.objects, 10) : quick ? 100 : 1000;
if (!Number.isInteger(objects) || objects < 1) throw new Error(`--objects must be a positive integer, not ${args.objects}`);
// 0 skips the subscription phase (its figures are then null).
const subscribers = args.subscribers ? Number.parseInt(args.subscribers, 10) : quick ? 1000 : 10_000;
if (!Number.isInteger(subscribers) || subscribers < 0)
  throw new Error(`--subscribers must be a non-negative integer, not ${args.subscribers}`);
// Subscription scenarios (bench/subscriptions.ts): `one` (every subscriber the same document) and `diverse` (100 groups).
const scenarios = (args.scenarios ?? 'one,diverse').split(',').filter(Boolean) as ('one' | 'diverse')[];
if (scenarios.some((s) => s !== 'one' && s !== 'diverse'))
  throw new Error(`--scenarios takes one and diverse, not ${args.scenarios}`);
// `--only subscriptions` seeds and runs the subscription scenarios alone (the other phases' figures are then null).
if (args.only !== undefined && args.only !== 'subscriptions') throw new Error(`--only takes subscriptions, not ${args.only}`);
const onlySubscriptions = args.only === 'subscriptions';
const iterations = quick
  ? {
      warm: 20,
      cold: 2,
      naive: 2,
      naiveBudgetMs: 20_000,
      direct: 20,
      warmup: 2,
      eventWrites: 10,
      hostileSamples: 200,
      hostileDeadlineMs: 60_000,
    }
  : {
      warm: 200,
      cold: 3,
      naive: 5,
      naiveBudgetMs: 60_000,
      direct: 100,
      warmup: 3,
      eventWrites: 50,
      hostileSamples: 1000,
      hostileDeadlineMs: 180_000,
    };
// npm runs scripts from the package root; a relative --json is relative to where npm was called.
const jsonPath = args.json ? resolve(process.env.INIT_CWD ?? process.cwd(), args.json) : undefined;

const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const began = performance.now();
const say = (msg: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1)}s] ${msg}\n`);

async function counted(kubeconfigPath: string): Promise<Record<string, number>> {
  await delay(settleMs);
  return requestTally(kubeconfigPath, countedGroups);
}

const perQuery = (tally: Record<string, number>, queries: number) =>
  Object.fromEntries(Object.entries(tally).map(([k, v]) => [k, round(v / queries, 2)]));

async function main(): Promise<void> {
  let cluster: BenchCluster | undefined;
  let pool: GatewayPool | undefined;
  /** Other things to stop on the way out (the subscription phase's gateway process and sockets). */
  const cleanups = new Set<() => Promise<void>>();
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all([...cleanups].map((fn) => fn().catch(() => {})));
    await pool?.stopAll();
    await cluster?.stop();
  };
  const offInterrupt = onInterrupt(cleanup, say);

  try {
    cluster = await BenchCluster.open(root, logger, say);
    const kubeconfigPath = cluster.kubeconfigPath;
    pool = new GatewayPool(kubeconfigPath, logger, { kinds: cachedKinds, syncTimeoutMs });
    const admin = cluster.admin;
    const version = await withRetry('GET /version', () => admin.request<{ gitVersion: string }>('GET', '/version'));

    const namespace = `bench-${randomBytes(3).toString('hex')}`;
    say(`seeding ${objects} PipelineResources, pipelines and bindings into ${namespace}`);
    const seedStart = performance.now();
    const seeded: SeedCounts = await seed(admin, namespace, objects);
    const seedSeconds = round((performance.now() - seedStart) / 1000, 1);
    say(`seeded ${JSON.stringify(seeded)} in ${seedSeconds}s`);

    /** Each scenario in turn (none with --subscribers 0); with --only subscriptions, their figures are the output. */
    const subscriptionScenarios = async () => {
      const results: Partial<Record<'one' | 'diverse', SubscriptionBenchResult>> = {};
      for (const scenario of subscribers > 0 ? scenarios : []) {
        say(`subscriptions: scenario ${scenario}`);
        results[scenario] = await subscriptionBench({
          root,
          kubeconfigPath,
          admin,
          namespace,
          resourceNames: seedObjects(namespace, objects)
            .filter((o) => o.kind === kinds.PipelineResource)
            .map((o) => o.body.metadata.name),
          subscribers,
          scenario,
          writes: iterations.eventWrites,
          countedGroups,
          say,
          onCleanup: (fn) => {
            cleanups.add(fn);
            return () => cleanups.delete(fn);
          },
        });
      }
      if (onlySubscriptions) {
        const result = {
          mode: quick ? 'quick' : 'full',
          only: 'subscriptions',
          objects,
          subscriptions: results,
          machine: cluster?.machine(version.gitVersion),
          date: new Date().toISOString(),
          totalSeconds: round((performance.now() - began) / 1000, 1),
        };
        if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${subscriptionRows(Object.values(results)).join('\n')}\n`);
        await admin.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
      }
      return results;
    };
    if (onlySubscriptions) {
      await subscriptionScenarios();
      return;
    }

    // Warm: one gateway, cache synced, Q already run a few times.
    say(`warm: ${iterations.warm} queries against a synced cache`);
    const warm = await pool.start();
    const fields = await detectOptionalFields(warm.url);
    const query = benchQuery(fields);
    const check = (rows: ResourceRow[], who: string) => {
      if (rows.length !== objects) throw new Error(`${who} returned ${rows.length} resources, expected ${objects}`);
    };
    let pagesPerQuery = 0;
    for (let i = 0; i < iterations.warmup; i++) {
      const r = await runQuery(warm.url, query, namespace);
      check(r.rows, 'the gateway');
      pagesPerQuery = r.pages;
    }
    const unbound = fields.includes('bindings')
      ? (await runQuery(warm.url, query, namespace)).rows.filter((r) => !r.bindings?.length)
      : [];
    if (unbound.length) say(`warning: ${unbound.length} resources have no bindings in the gateway's answer`);
    const warmBefore = await counted(kubeconfigPath);
    const warmMs: number[] = [];
    for (let i = 0; i < iterations.warm; i++) {
      const t = performance.now();
      await runQuery(warm.url, query, namespace);
      warmMs.push(performance.now() - t);
    }
    const warmTally = tallyDiff(warmBefore, await counted(kubeconfigPath));
    const warmWatches = await watchCount(kubeconfigPath, countedGroups);
    await pool.stop(warm);

    // Cold: a fresh gateway each time; everything from its start through Q's first answer.
    say(`cold: ${iterations.cold} fresh gateways`);
    const coldTallies: Record<string, number>[] = [];
    const coldFirstAnswerMs: number[] = [];
    for (let i = 0; i < iterations.cold; i++) {
      const before = await counted(kubeconfigPath);
      const t = performance.now();
      const gw = await pool.start();
      check((await runQuery(gw.url, query, namespace)).rows, 'the cold gateway');
      coldFirstAnswerMs.push(performance.now() - t);
      coldTallies.push(tallyDiff(before, await counted(kubeconfigPath)));
      await pool.stop(gw);
    }
    const coldTotal: Record<string, number> = {};
    for (const t of coldTallies) for (const [k, v] of Object.entries(t)) coldTotal[k] = (coldTotal[k] ?? 0) + v;

    // Direct: the same data from the apiserver with client-node, joined in memory. Before the naive
    // phase, whose thousands of requests leave the apiserver busy (GC) for a while after.
    say(`direct: ${iterations.direct} reads with @kubernetes/client-node`);
    const direct = directFetcher(cluster.kubeConfig);
    for (let i = 0; i < iterations.warmup; i++) check(await direct(namespace), 'client-node');
    const directMs: number[] = [];
    for (let i = 0; i < iterations.direct; i++) {
      const t = performance.now();
      await direct(namespace);
      directMs.push(performance.now() - t);
    }

    // Subscriptions: a gateway in its own process, so that its RSS is its own. Also before the naive phase.
    const { one: subs, diverse } = await subscriptionScenarios();
    if (onlySubscriptions) return;

    // Hostile: bob's simple query alone, then while alice runs the most expensive operation the limits admit.
    const hostile = await hostileBench({
      root,
      kubeconfigPath,
      admin,
      namespacePrefix: `${namespace}-hostile`,
      objects,
      samples: iterations.hostileSamples,
      attackDeadlineMs: iterations.hostileDeadlineMs,
      say,
      onCleanup: (fn) => {
        cleanups.add(fn);
        return () => cleanups.delete(fn);
      },
    });

    // Naive: cache and batching off, resolvers fetch per object (readMode 'naive').
    say('naive: the same query with the cache and batching off');
    let naiveTally: Record<string, number> | undefined;
    let naiveQueries = 0;
    const naiveMs: number[] = [];
    let naiveNote: string | undefined;
    const naive = await pool.start('naive');
    try {
      check((await runQuery(naive.url, query, namespace)).rows, 'the naive gateway');
      const before = await counted(kubeconfigPath);
      const budgetEnds = performance.now() + iterations.naiveBudgetMs;
      while (naiveQueries < iterations.naive && (naiveQueries === 0 || performance.now() < budgetEnds)) {
        const t = performance.now();
        await runQuery(naive.url, query, namespace);
        naiveMs.push(performance.now() - t);
        naiveQueries++;
      }
      naiveTally = tallyDiff(before, await counted(kubeconfigPath));
      if (sum(Object.values(naiveTally)) === 0)
        naiveNote = 'readMode "naive" made no Kubernetes requests: it seems not to be honoured';
    } catch (err) {
      naiveNote = `the query failed in readMode "naive": ${(err as Error).message}`;
      say(`naive: skipped; ${naiveNote}`);
    }
    await pool.stop(naive);

    await admin.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});

    const preliminary = (['bindings', 'pipelines'] as const).filter((f) => !fields.includes(f));
    const result = {
      objects,
      k8sRequestsPerQueryWarm: round(sum(Object.values(warmTally)) / iterations.warm, 2),
      k8sRequestsPerQueryCold: round(sum(Object.values(coldTotal)) / iterations.cold, 2),
      k8sRequestsPerQueryNaive: naiveTally && !naiveNote ? round(sum(Object.values(naiveTally)) / naiveQueries, 2) : null,
      gatewayP50Ms: round(percentile(warmMs, 50), 1),
      gatewayP99Ms: round(percentile(warmMs, 99), 1),
      directK8sP50Ms: round(percentile(directMs, 50), 1),
      // Subscription figures: null when skipped (--subscribers 0).
      subscribers: subs?.subscribers ?? null,
      apiserverWatches: subs?.apiserverWatches ?? null,
      eventLatencyP99Ms: subs?.eventLatencyP99Ms ?? null,
      rssPerSubscriberKB: subs?.rssPerSubscriberKB ?? null,
      details: {
        mode: quick ? 'quick' : 'full',
        preliminary: preliminary.length ? `the schema has no ${preliminary.join(' / ')} on PipelineResource yet` : null,
        seeded,
        seedSeconds,
        queryFields: ['name', 'type', 'params', ...fields],
        pagesPerQuery,
        iterations: { warm: iterations.warm, cold: iterations.cold, naive: naiveQueries, direct: iterations.direct },
        cachedKinds,
        gatewayWatches: warmWatches,
        countedGroups: countedGroups.groups,
        gatewayMeanMs: round(sum(warmMs) / warmMs.length, 1),
        directK8sP99Ms: round(percentile(directMs, 99), 1),
        coldFirstAnswerMs: coldFirstAnswerMs.map((ms) => round(ms, 0)),
        naiveP50Ms: naiveMs.length ? round(percentile(naiveMs, 50), 1) : null,
        naiveNote: naiveNote ?? null,
        subscriptions: subs?.details ?? null,
        subscriptionsDiverse: diverse ?? null,
        subscriptionResults: { one: subs, diverse },
        hostile,
        requestsPerQuery: {
          warm: perQuery(warmTally, iterations.warm),
          cold: perQuery(coldTotal, iterations.cold),
          naive: naiveTally ? perQuery(naiveTally, Math.max(1, naiveQueries)) : null,
        },
        machine: cluster.machine(version.gitVersion),
        date: new Date().toISOString(),
        totalSeconds: round((performance.now() - began) / 1000, 1),
      },
    };
    if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result);
    if (jsonPath) say(`wrote ${jsonPath}`);
  } finally {
    say('stopping');
    await cleanup();
    offInterrupt();
  }
}

function printTable(r: {
  objects: number;
  k8sRequestsPerQueryWarm: number;
  k8sRequestsPerQueryCold: number;
  k8sRequestsPerQueryNaive: number | null;
  gatewayP50Ms: number;
  gatewayP99Ms: number;
  directK8sP50Ms: number;
  subscribers: number | null;
  apiserverWatches: number | null;
  eventLatencyP99Ms: number | null;
  rssPerSubscriberKB: number | null;
  details: {
    subscriptions: SubscriptionBenchResult['details'] | null;
    subscriptionResults: Partial<Record<'one' | 'diverse', SubscriptionBenchResult>>;
    hostile: HostileBenchResult | { skipped: string };
    mode: string;
    seeded: SeedCounts;
    queryFields: string[];
    pagesPerQuery: number;
    naiveNote: string | null;
    preliminary: string | null;
  };
}): void {
  const d = r.details;
  const rows: [string, string, string][] = [
    ['objects', String(r.objects), `PipelineResources (+${d.seeded.pipelines} Pipelines, ${d.seeded.resourceBindings} bindings)`],
    ['k8sRequestsPerQueryWarm', String(r.k8sRequestsPerQueryWarm), 'synced cache'],
    ['k8sRequestsPerQueryCold', String(r.k8sRequestsPerQueryCold), 'gateway start through first answer'],
    [
      'k8sRequestsPerQueryNaive',
      String(r.k8sRequestsPerQueryNaive ?? 'n/a'),
      d.naiveNote ? 'see naiveNote' : 'cache and batching off',
    ],
    ['gatewayP50Ms', String(r.gatewayP50Ms), 'warm, whole query'],
    ['gatewayP99Ms', String(r.gatewayP99Ms), 'warm, whole query'],
    ['directK8sP50Ms', String(r.directK8sP50Ms), '3 LISTs with client-node + join'],
  ];
  const sd = d.subscriptions;
  rows.push(...subscriptionTable([r.details.subscriptionResults.one, r.details.subscriptionResults.diverse]));
  const h = d.hostile;
  if ('skipped' in h) rows.push(['hostile', 'n/a', h.skipped]);
  else {
    const met = h.ratio <= h.aim;
    const op = `depth ${h.operation.depth}, first ${h.operation.pageSize}, ${h.operation.aliases} alias(es), cost ${h.operation.estimatedCost}`;
    const phase = (a: typeof h.attack) =>
      `alice ${a.aliceOperationsPerSecond} op/s in ${a.aliceRequestsPerSecond} requests/s; ${a.bobFailures} of bob's failed; gateway busy ${Math.round(a.gateway.busy * 100)} %, waiting for a CPU ${Math.round(a.gateway.waiting * 100)} %; peak RSS ${Math.round(a.rssPeakKB / 1024)} MiB`;
    rows.push(
      ['bobP99AloneMs', String(h.bobP99AloneMs), "bob's simple query, alone"],
      ['bobP99UnderAttackMs', String(h.attack.bobP99Ms), `while alice loops ${op}, waiting out Retry-After: ${phase(h.attack)}`],
      [
        'hostile ratio',
        String(h.ratio),
        `aim at most ${h.aim}: ${met ? 'met' : 'MISSED'}; gateway ${h.gatewayAlive ? 'alive' : 'DIED'}`,
      ],
      ['bobP99UnderFloodMs', String(h.flood.bobP99Ms), `alice ignoring Retry-After: ${phase(h.flood)}`],
      ['hostile flood ratio', String(h.flood.ratio), 'reported, no aim (docs/security.md, "Hostile tenants: measured")'],
    );
  }
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const lines = [
    `benchmark (${d.mode}): query fields ${d.queryFields.join(', ')}; ${d.pagesPerQuery} page(s) of <=500 per query`,
    ...rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`),
  ];
  if (d.naiveNote) lines.push(`  note: ${d.naiveNote}`);
  if (sd && (sd.eventsMissing || sd.subscriptionsEnded))
    lines.push(
      `  note: ${sd.eventsMissing} events missing, ${sd.subscriptionsEnded} subscriptions ended (details.subscriptions)`,
    );
  if (d.preliminary) lines.push(`  preliminary: ${d.preliminary}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The subscription scenarios' rows, each figure against its aim (issue 13). */
function subscriptionTable(results: (SubscriptionBenchResult | undefined)[]): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const r of results) {
    if (!r) continue;
    const sd = r.details;
    const aim = (met: boolean, text: string) => `aim ${text}: ${met ? 'met' : 'MISSED'}`;
    const tag = (name: string) => (r.scenario === 'one' ? name : `${name} (${r.scenario})`);
    rows.push(
      [
        tag('subscribers'),
        String(r.subscribers),
        `${sd.groups} group(s); ${sd.sockets} socket(s) x ${sd.subscriptionsPerSocket}; subscribed in ${sd.subscribeSeconds} s, ${aim(sd.subscribeSeconds <= sd.aims.subscribeSeconds, `<= ${sd.aims.subscribeSeconds} s`)}`,
      ],
      [
        tag('apiserverWatches'),
        String(r.apiserverWatches),
        `pipelineresources watches with all subscribed (${sd.watches.projectGroups} for all kinds); ${aim(r.apiserverWatches === 1, '1')}`,
      ],
      [
        tag('eventLatencyP99Ms'),
        String(r.eventLatencyP99Ms),
        `write ack -> event at subscriber, p50 ${sd.eventLatencyP50Ms}, ${sd.eventsMissing} missing; ${aim(r.eventLatencyP99Ms <= sd.aims.eventLatencyP99Ms && sd.eventsMissing === 0, `<= ${sd.aims.eventLatencyP99Ms}`)}`,
      ],
      [
        tag('rssPerSubscriberKB'),
        String(r.rssPerSubscriberKB),
        `gateway RSS growth / subscribers, idle; ${aim(r.rssPerSubscriberKB <= sd.aims.rssPerSubscriberKB, `<= ${sd.aims.rssPerSubscriberKB}`)}; after the writes x${sd.rssAfterWritesRatio}, ${aim(sd.rssAfterWritesRatio <= sd.aims.rssAfterWritesRatio, `<= ${sd.aims.rssAfterWritesRatio}`)}`,
      ],
      [
        tag('gatewayCpuPerDeliveryUs'),
        String(sd.gatewayCpuPerDeliveryUs),
        `gateway event-loop CPU per event per subscriber (${sd.cpuPerWriteMs.gatewayMainThread} ms a write)`,
      ],
    );
  }
  return rows;
}

/** The subscription scenarios alone (`--only subscriptions`), as the full table prints them. */
function subscriptionRows(results: SubscriptionBenchResult[]): string[] {
  const rows = subscriptionTable(results);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return ['benchmark: subscription scenarios only', ...rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`)];
}

main().catch((err) => {
  say(`failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
