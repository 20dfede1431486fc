import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { parse } from 'graphql';
import { parseConfig } from '../src/config.js';
import type { KubeClient } from '../src/kube/KubeClient.js';
import { operationCost } from '../src/plugins/useQueryLimits.js';
import { schema } from '../src/schema/index.js';
import { pageSize } from '../src/schema/pagination.js';
import type { AttackerData } from './hostileAttacker.js';
import { type Answer, post } from './post.js';
import { seed, withRetry } from './seed.js';
import { max, percentile, round } from './stats.js';
import { cpuMs, type GatewayProcess, rss, spawnGateway } from './subscriptions.js';

/**
 * The hostile-tenant benchmark (DESIGN.md section 8, docs/security.md "Hostile
 * tenants: measured"): one gateway in its own process, in token mode, with every
 * limit at its default. bob (view in his namespace) sends a simple query, paced
 * under the per-user rate limit; its p99 is measured alone, then while alice
 * (edit in hers) runs `the most expensive operation the limits admit` in a loop.
 * Aim: bob's p99 under attack at most 2× alone.
 *
 * The operation (built by `hostileOperation`, below): `aliases` copies of
 *
 *   pipelineResources(namespace: $ns, first: <page>) { edges { node {
 *     name params { name value } pipelines { name resources { name params { … } pipelines { … } } } } } }
 *
 * a chain from PipelineResources to their Pipelines to those Pipelines'
 * resources and back, as deep as the depth limit allows: each step multiplies
 * the objects resolved (a resource is bound to 1.4 pipelines, a pipeline binds
 * 10 resources), so it is the read whose work grows fastest with what the cost
 * estimate lets through. The depth and alias counts start from the gateway's
 * defaults (src/config.ts) and the page from the largest `first`
 * (src/schema/pagination.ts); for each depth, the largest page and then the
 * most aliases within the cost limit (the gateway's own `operationCost`), and
 * of those the one alice takes longest to run. When the limits change, the
 * operation follows.
 */
export interface HostileBenchOptions {
  root: string;
  kubeconfigPath: string;
  admin: KubeClient;
  /** Prefix of the two namespaces this phase makes (`<prefix>-a` for alice, `<prefix>-b` for bob). */
  namespacePrefix: string;
  /** PipelineResources seeded in alice's namespace (with bench/seed.ts's pipelines and bindings). */
  objects: number;
  /** bob's queries in each of the two measurements. */
  samples: number;
  /** How long bob's queries under attack may take in all; those not sent by then count as failed. */
  attackDeadlineMs: number;
  say: (msg: string) => void;
  onCleanup: (fn: () => Promise<void>) => () => void;
  /** Flags for the gateway beyond token mode (none: every limit at its default, as the bench reports). */
  gatewayArgs?: string[];
  /** Flags for the gateway's node beyond its heap cap (to profile it, say). */
  gatewayNodeArgs?: string[];
}

export interface HostileBenchResult {
  bobP99AloneMs: number;
  bobP50AloneMs: number;
  /** `attack.ratio`: bob's p99 while alice runs the operation as often as the limits admit it ÷ alone; the aim is at most 2. */
  ratio: number;
  aim: number;
  operation: {
    depth: number;
    pageSize: number;
    aliases: number;
    /** The gateway's own cost estimate (`operationCost`, the function its limit plugin uses). */
    estimatedCost: number;
    /** Each depth's largest admitted shape, timed once as alice; the slowest is the operation. */
    searched: { depth: number; page: number; aliases: number; ms: number; outcome: string }[];
    query: string;
  };
  limits: { maxDepth: number; maxAliases: number; maxCost: number; maxPageSize: number };
  /** The gateway's main thread while bob measured alone. */
  gatewayAlone: ThreadShare;
  /** alice waits out each refusal's Retry-After: she runs the operation as often as the limits admit it. */
  attack: AttackResult;
  /** alice ignores Retry-After: the same admitted operations, and a flood of refused requests between them. */
  flood: AttackResult;
  rssKB: { before: number; after: number | null };
  gatewayAlive: boolean;
}

export interface AttackResult {
  retryAfter: AttackerData['retryAfter'];
  bobP99Ms: number;
  /** bobP99Ms ÷ bob's p99 alone. */
  ratio: number;
  bobP50Ms: number | null;
  bobMaxMs: number;
  /** bob's queries that did not get data without errors. */
  bobFailures: number;
  /** alice's answers a second, refused ones included. */
  aliceRequestsPerSecond: number;
  /** alice's operations answered with data, a second. */
  aliceOperationsPerSecond: number;
  /** alice's answers by outcome: `data` (no errors), an error code, or a failure (HTTP status, timeout, connection). */
  aliceOutcomes: Record<string, number>;
  aliceP50Ms: number | null;
  /** The size of an answer with data. */
  responseBytes: number | null;
  /**
   * The gateway's main thread while bob measured, as fractions of the time: `busy` on a CPU, `waiting` runnable for
   * one (other processes held both cores: alice's client, the apiserver, bob's client).
   */
  gateway: ThreadShare;
  rssPeakKB: number;
  seconds: number;
}

const aim = 2;
/** bob's pace: under the default per-user rate (50/s), so his queries measure latency, not the rate limit. */
const bobIntervalMs = 25;
const requestTimeoutMs = { bob: 10_000, alice: 60_000 };

/** The chain's fields from each type, with the leaves asked of every object on the way. */
const chain = {
  PipelineResource: { next: 'pipelines', nextType: 'Pipeline', leaves: 'name params { name value }', leafDepth: 2 },
  Pipeline: { next: 'resources', nextType: 'PipelineResource', leaves: 'name', leafDepth: 1 },
} as const;

/** The operation: `aliases` copies of a `depth`-deep chain over `page` PipelineResources of `$ns`. */
export function hostileOperation(depth: number, page: number, aliases: number): string {
  // Depth as the gateway counts it: pipelineResources 1, edges 2, node 3, then one per chain step.
  const level = (type: keyof typeof chain, at: number): string => {
    const c = chain[type];
    const leaves = at + c.leafDepth <= depth ? c.leaves : 'name';
    const deeper = at + 1 < depth ? ` ${c.next} { ${level(c.nextType, at + 1)} }` : '';
    return `${leaves}${deeper}`;
  };
  const unit = `pipelineResources(namespace: $ns, first: ${page}) { edges { node { ${level('PipelineResource', 3)} } } }`;
  const copies = Array.from({ length: aliases }, (_, i) => `a${i}: ${unit}`).join(' ');
  return `query Hostile($ns: String!) { ${copies} }`;
}

/** bob's simple query: one page of one resource of his namespace, with the total. */
export const bobQuery = (ns: string) =>
  `{ pipelineResources(namespace: "${ns}", first: 1) { totalCount edges { node { name } } } }`;

/** A test user's token, from `users/<user>.kubeconfig` next to the admin's kubeconfig (the local control plane writes them). */
export function userToken(kubeconfigPath: string, user: string): string | undefined {
  try {
    const kc = JSON.parse(readFileSync(join(dirname(kubeconfigPath), 'users', `${user}.kubeconfig`), 'utf8'));
    return kc.users?.[0]?.user?.token;
  } catch {
    return undefined;
  }
}

/**
 * bob's queries, one after another, each started `bobIntervalMs` after the last began (or when it ended, if
 * later), until `samples` or `deadlineMs`: one that cannot start by then counts as failed at the timeout.
 */
async function bobRun(url: string, token: string, ns: string, samples: number, deadlineMs = Infinity): Promise<Answer[]> {
  const answers: Answer[] = [];
  const ends = performance.now() + deadlineMs;
  for (let i = 0; i < samples; i++) {
    if (performance.now() > ends) {
      answers.push({ ms: requestTimeoutMs.bob, outcome: 'not sent (phase deadline)', bytes: 0 });
      continue;
    }
    const began = performance.now();
    answers.push(await post(url, token, bobQuery(ns), {}, requestTimeoutMs.bob));
    const wait = bobIntervalMs - (performance.now() - began);
    if (wait > 0) await delay(wait);
  }
  return answers;
}

/** The largest n in 1..max for which `admits(n)` holds (it holds for every smaller n too), or 0. */
async function largest(max: number, admits: (n: number) => Promise<boolean>): Promise<number> {
  if (!(await admits(1))) return 0;
  let lo = 1;
  let hi = max + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await admits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function hostileBench(o: HostileBenchOptions): Promise<HostileBenchResult | { skipped: string }> {
  const tokens = {
    alice: userToken(o.kubeconfigPath, 'alice'),
    bob: userToken(o.kubeconfigPath, 'bob'),
  };
  if (!tokens.alice || !tokens.bob)
    return { skipped: 'no users/<alice|bob>.kubeconfig next to the kubeconfig: the local control plane has them' };
  const { alice, bob } = tokens as Record<keyof typeof tokens, string>;
  // The limits of the gateway under test: its defaults, or what `gatewayArgs` sets.
  const defaults = parseConfig(o.gatewayArgs ?? [], {}).limits;
  const limits = {
    maxDepth: defaults.maxDepth,
    maxAliases: defaults.maxAliases,
    maxCost: defaults.maxCost,
    maxPageSize: pageSize.max,
  };

  const aliceNs = `${o.namespacePrefix}-a`;
  const bobNs = `${o.namespacePrefix}-b`;
  const removeNamespaces = async () => {
    for (const ns of [aliceNs, bobNs]) await o.admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
  };
  const offNamespaces = o.onCleanup(removeNamespaces);
  let gw: GatewayProcess | undefined;
  const offGateway = o.onCleanup(async () => gw?.stop());
  try {
    o.say(`hostile: seeding ${o.objects} PipelineResources for alice in ${aliceNs}, and bob's in ${bobNs}`);
    await seed(o.admin, aliceNs, o.objects);
    await seed(o.admin, bobNs, Math.max(10, Math.round(o.objects / 10)));
    for (const [ns, user, role] of [
      [aliceNs, 'alice', 'edit'],
      [bobNs, 'bob', 'view'],
    ] as const) {
      await withRetry(`bind ${user}`, () =>
        o.admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
          body: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: `${user}-${role}` },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
          },
        }),
      );
    }

    // Its own process, so that its RSS is its own; the heap is capped as in a pod, so a runaway query ends the
    // gateway (which the result records) rather than the machine.
    gw = await spawnGateway(o.root, o.kubeconfigPath, o.say, {
      node: ['--max-old-space-size=2048', ...(o.gatewayNodeArgs ?? [])],
      args: o.gatewayArgs ?? [],
    });
    const url = `http://127.0.0.1:${gw.port}/graphql`;
    await until(60_000, async () => {
      const a = await post(url, bob, bobQuery(bobNs), {}, requestTimeoutMs.bob);
      return a.outcome === 'data';
    });

    // The operation: for each depth, the largest page and then the most aliases within the cost limit, reckoned
    // by the gateway's own `operationCost` (probing the gateway would spend the prober's cost rate); of those, the
    // one that takes alice longest, timed once each.
    const admitted = async (depth: number, page: number, aliases: number) =>
      operationCost(schema, parse(hostileOperation(depth, page, aliases)), undefined, { ns: aliceNs }) <= limits.maxCost;
    const searched: HostileBenchResult['operation']['searched'] = [];
    for (let depth = limits.maxDepth; depth >= 4; depth--) {
      const page = await largest(limits.maxPageSize, (p) => admitted(depth, p, 1));
      if (!page) continue;
      const aliases = await largest(limits.maxAliases, (a) => admitted(depth, page, a));
      const timed = await post(url, alice, hostileOperation(depth, page, aliases), { ns: aliceNs }, requestTimeoutMs.alice);
      searched.push({ depth, page, aliases, ms: round(timed.ms, 1), outcome: timed.outcome });
    }
    const shape = searched.reduce<(typeof searched)[number] | undefined>((a, b) => (a && a.ms >= b.ms ? a : b), undefined);
    if (!shape) throw new Error('the gateway admits no chain of PipelineResources at all');
    const query = hostileOperation(shape.depth, shape.page, shape.aliases);
    const estimatedCost = operationCost(schema, parse(query), undefined, { ns: aliceNs });
    o.say(
      `hostile: alice's operation: depth ${shape.depth}, first ${shape.page}, ${shape.aliases} aliases, estimated cost ${estimatedCost}`,
    );

    // bob alone (after a warm-up).
    await bobRun(url, bob, bobNs, 20);
    const cpuAlone = cpuMs(gw.pid);
    const aloneStarted = performance.now();
    const alone = await bobRun(url, bob, bobNs, o.samples);
    const gatewayAlone = share(cpuAlone, cpuMs(gw.pid), performance.now() - aloneStarted);
    const rssBefore = rss(gw.pid).rss;
    const aloneMs = alone.filter((a) => a.outcome === 'data').map((a) => a.ms);
    const bobP99AloneMs = round(percentile(aloneMs, 99), 1);

    // bob while alice runs the operation in a loop: as often as the limits admit it, then flooding between.
    const phase = async (retryAfter: AttackerData['retryAfter']): Promise<AttackResult> => {
      o.say(
        `hostile: bob's queries while alice loops the operation (${retryAfter === 'wait' ? 'waiting out' : 'ignoring'} Retry-After)`,
      );
      const pid = (gw as GatewayProcess).pid;
      let peak = rss(pid).rss;
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, rss(pid).rss);
        } catch {
          // the process ended
        }
      }, 50);
      const started = performance.now();
      const data: AttackerData = {
        url,
        token: alice,
        query,
        variables: { ns: aliceNs },
        timeoutMs: requestTimeoutMs.alice,
        retryAfter,
      };
      const attacker = new Worker(new URL('./hostileAttacker.ts', import.meta.url), { workerData: data });
      const offAttacker = o.onCleanup(async () => void (await attacker.terminate()));
      const attackerDone = new Promise<Answer[]>((resolve, reject) => {
        attacker.on('message', (m: 'started' | Answer[]) => m !== 'started' && resolve(m));
        attacker.once('error', reject);
      });
      // alice's first answer starts the measurement, so that bob's samples all overlap the attack.
      await Promise.race([once(attacker, 'message'), delay(2_000)]);
      const cpuBefore = cpuMs(pid);
      const measured = performance.now();
      const underAttack = await bobRun(url, bob, bobNs, o.samples, o.attackDeadlineMs);
      const gateway = share(cpuBefore, cpuMs(pid), performance.now() - measured);
      attacker.postMessage('stop');
      const aliceAnswers = await attackerDone;
      await attacker.terminate();
      offAttacker();
      clearInterval(sampler);
      const seconds = (performance.now() - started) / 1000;
      const dataMs = underAttack.filter((a) => a.outcome === 'data').map((a) => a.ms);
      // A query that failed under attack counts as slow as its timeout.
      const all = underAttack.map((a) => (a.outcome === 'data' ? a.ms : Math.max(a.ms, requestTimeoutMs.bob)));
      const bobP99Ms = round(percentile(all, 99), 1);
      // The answer cut short when bob was done is no answer.
      const completed = aliceAnswers.filter((x) => x.outcome !== 'stopped');
      const aliceOutcomes: Record<string, number> = {};
      for (const a of completed) aliceOutcomes[a.outcome] = (aliceOutcomes[a.outcome] ?? 0) + 1;
      return {
        retryAfter,
        bobP99Ms,
        ratio: round(bobP99Ms / bobP99AloneMs, 2),
        bobP50Ms: dataMs.length ? round(percentile(dataMs, 50), 1) : null,
        bobMaxMs: round(max(all), 1),
        bobFailures: underAttack.length - dataMs.length,
        aliceRequestsPerSecond: round(completed.length / seconds, 1),
        aliceOperationsPerSecond: round((aliceOutcomes.data ?? 0) / seconds, 2),
        aliceOutcomes,
        aliceP50Ms: completed.length
          ? round(
              percentile(
                completed.map((a) => a.ms),
                50,
              ),
              1,
            )
          : null,
        responseBytes: completed.find((a) => a.outcome === 'data')?.bytes ?? null,
        gateway,
        rssPeakKB: peak,
        seconds: round(seconds, 1),
      };
    };
    const attack = await phase('wait');
    const flood = await phase('ignore');
    const alive = gw.child.exitCode === null && gw.child.signalCode === null;
    return {
      bobP99AloneMs,
      bobP50AloneMs: round(percentile(aloneMs, 50), 1),
      ratio: attack.ratio,
      aim,
      operation: { depth: shape.depth, pageSize: shape.page, aliases: shape.aliases, estimatedCost, searched, query },
      limits,
      gatewayAlone,
      attack,
      flood,
      rssKB: { before: rssBefore, after: alive ? rss(gw.pid).rss : null },
      gatewayAlive: alive,
    };
  } finally {
    await gw?.stop();
    offGateway();
    await removeNamespaces();
    offNamespaces();
  }
}

async function until(timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs / 1000} s`);
    await delay(50);
  }
}

export interface ThreadShare {
  busy: number;
  waiting: number;
}

/** The main thread's share of `ms` between two `cpuMs` readings. */
function share(before: ReturnType<typeof cpuMs>, after: ReturnType<typeof cpuMs>, ms: number): ThreadShare {
  return { busy: round((after.main - before.main) / ms, 3), waiting: round((after.mainWaited - before.mainWaited) / ms, 3) };
}
