import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { apiVersion, kinds, resourcePath } from '../../src/kube/kinds.js';
import { LocalControlPlane } from '../../src/local/LocalControlPlane.js';
import { clusterManifests, installManifests } from '../../src/local/localMode.js';
import { clientFor, eventually, testLogger } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The stream under real faults, against a control plane of this file's own,
 * during a steady stream of creates, patches and deletes to every cached
 * kind: `kill -9` of the control plane and a restart on the same etcd data
 * (the gateway's watch from before may be answered 410 Gone, or resume); a
 * SIGSTOP longer than the stall watchdog; a partition (a TCP proxy between
 * gateway and apiserver, cut) during which objects the gateway knows are
 * deleted, etcd is compacted past the deletions and the control plane killed
 * and restarted again, so that the gateway's watch is answered 410 for certain
 * and its relist must report the deletions; and a CRD change, which ends the
 * kind's watches. A second replica, straight to the apiserver, takes cursors
 * given by the first.
 *
 * Reconnect settings: the gateway's default backoff (250 ms doubling to 30 s,
 * full jitter). The watch timeout and stall grace are shortened (3 s + 2 s,
 * against 300–600 s + 30 s by default): with the defaults the watchdog fires
 * only after 5.5 to 10.5 minutes of silence, so a SIGSTOP past it would take
 * that long.
 */
const dir = mkdtempSync(join(process.cwd(), '.test-data-faults-'));
const plane = new LocalControlPlane({ dataDir: dir });
const ns = 'storm';
let gw: TestGateway;
/** A second replica, straight to the apiserver (not partitioned), with the default watch settings. */
let replica: TestGateway;
let proxy: Awaited<ReturnType<typeof partitionableProxy>>;

/** A TCP proxy from the gateway alone to the apiserver, which the test can cut: a network partition. */
async function partitionableProxy(target: () => number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((inbound) => {
    if (cut) return void inbound.destroy();
    const outbound = connect(target(), '127.0.0.1');
    const close = () => {
      for (const s of [inbound, outbound]) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', close).on('close', close);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      cut = false;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

interface Ev {
  type: string;
  resourceVersion: string;
  cursor: string | null;
  object: { name: string; resourceVersion: string } | null;
}

/** Every cached kind in the storm: its subscription, and a body the apiserver takes. */
const storm = [
  {
    kind: 'PipelineResource',
    field: 'pipelineResourceEvents',
    spec: (name: string, i: number) => ({ type: 'git', params: [{ name: 'url', value: `https://example.com/${name}/${i}` }] }),
  },
  { kind: 'ResourceBinding', field: 'resourceBindingEvents', spec: () => ({ pipelineRef: { name: 'p' }, resources: [] }) },
  { kind: 'Pipeline', field: 'pipelineEvents', spec: (name: string) => ({ description: name, tasks: [] }) },
  { kind: 'PipelineRun', field: 'pipelineRunEvents', spec: () => ({ pipelineRef: { name: 'p' } }) },
] as const;
type Kind = (typeof storm)[number];

const subscription = (k: Kind, since?: string) =>
  `subscription { ${k.field}(namespace: "${ns}"${since ? `, since: "${since}"` : ''}) { type resourceVersion cursor object { name resourceVersion } } }`;

beforeAll(async () => {
  await plane.start();
  await installManifests(plane.kubeconfig, clusterManifests(), testLogger);
  await clientFor(plane.kubeconfig).request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  });
  const state = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { apiServerPort: number };
  proxy = await partitionableProxy(() => state().apiServerPort);
  // The certificate names 127.0.0.1 whatever the port, so only the port changes.
  const kubeconfig = join(dir, 'gateway.kubeconfig');
  writeFileSync(
    kubeconfig,
    readFileSync(plane.kubeconfig, 'utf8').replaceAll(`127.0.0.1:${state().apiServerPort}`, `127.0.0.1:${proxy.port}`),
  );
  gw = await startGateway({ kubeconfig, reflector: { watchTimeoutSeconds: [3, 3], stallGraceMs: 2_000 } });
  replica = await startGateway({ kubeconfig: plane.kubeconfig });
}, 240_000);

afterAll(async () => {
  await gw?.stop();
  await replica?.stop();
  await proxy?.close();
  await plane.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The running kube-testserver's pid (the first line of its pid file). */
const serverPid = () => Number.parseInt(readFileSync(plane.pidFile, 'utf8').split('\n')[0] ?? '', 10);

async function killAndRestart(): Promise<void> {
  process.kill(serverPid(), 'SIGKILL');
  await eventually(() => {
    try {
      process.kill(serverPid(), 0);
      return undefined;
    } catch {
      return true;
    }
  });
  await plane.start();
}

/** Compacts etcd to its current revision (through etcd's own HTTP gateway), so no older version can be watched from. */
async function compactEtcd(): Promise<void> {
  const { etcdPort } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { etcdPort: number };
  const base = `http://127.0.0.1:${etcdPort}/v3`;
  const range = (await (await fetch(`${base}/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }) })).json()) as {
    header: { revision: string };
  };
  const res = await fetch(`${base}/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: range.header.revision, physical: true }),
  });
  expect(res.status).toBe(200);
}

/** Changes the PipelineResource CRD (a printer column more), which restarts its storage and ends its watches. */
async function changeCrd(): Promise<void> {
  const client = clientFor(plane.kubeconfig);
  const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pipelineresources.tekton.dev';
  await write(async () => {
    const crd = await client.request<{ spec: { versions: { additionalPrinterColumns?: unknown[] }[] } }>('GET', crdPath);
    for (const v of crd.spec.versions) {
      v.additionalPrinterColumns = [
        ...(v.additionalPrinterColumns ?? []),
        { name: 'Changed', type: 'string', jsonPath: '.metadata.uid' },
      ];
    }
    await client.request('PUT', crdPath, { body: crd });
  });
}

/** Retries a write until the apiserver takes it (it is down or frozen for a while); 404 and 409 are answers too. */
async function write(fn: () => Promise<unknown>): Promise<void> {
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404 || status === 409) return;
      await delay(100);
    }
  }
}

/** A subscriber's view: its events replayed onto an empty map of name → resourceVersion. */
function view(events: Ev[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const e of events) {
    if (!e.object) continue;
    if (e.type === 'DELETED') state.delete(e.object.name);
    else state.set(e.object.name, e.object.resourceVersion);
  }
  return state;
}
const sorted = (m: Map<string, string>) => JSON.stringify([...m].sort());

/** What may never repeat: a state (object, resourceVersion), a deletion of one, and a cursor. */
function repeats(events: Ev[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of events) {
    const keys = [
      `${e.type === 'DELETED' ? 'deleted' : 'state'} ${e.object?.name}@${e.object?.resourceVersion}`,
      ...(e.cursor ? [`cursor ${e.cursor}`] : []),
    ];
    for (const k of keys) {
      if (seen.has(k)) out.push(`${k} (${e.type})`);
      seen.add(k);
    }
  }
  return out;
}

/** A subscriber of one kind, and the events it received before it last disconnected (the resumer's). */
interface Subscriber {
  kind: Kind;
  sub: ReturnType<typeof collect<Record<string, Ev>>>;
  before: Ev[];
}
const eventsOf = (s: Subscriber) => [...s.before, ...s.sub.received.map((r) => r[s.kind.field] as Ev)];

describe('a storm of writes to every cached kind through kill -9 (twice), SIGSTOP past the watchdog, a compaction and a CRD change', () => {
  it('leaves every subscriber, and those that resume from any cursor, with the cluster’s state and nothing twice', async () => {
    const client = clientFor(plane.kubeconfig);
    const path = (k: Kind, name?: string) => resourcePath(kinds[k.kind], ns, name);
    const subscribers: Subscriber[] = storm.flatMap((kind) =>
      Array.from({ length: 2 }, () => ({ kind, sub: collect<Record<string, Ev>>(gw.ws(), subscription(kind)), before: [] })),
    );
    const resumers: Subscriber[] = storm.map((kind) => ({
      kind,
      sub: collect<Record<string, Ev>>(gw.ws(), subscription(kind)),
      before: [],
    }));
    await eventually(() => (storm.every((k) => gw.cache.kind(k.kind).listenerCount === 3) ? true : undefined));

    let writing = true;
    let ops = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const k = storm[i % storm.length] as Kind;
        const n = Math.floor(i / storm.length);
        const name = `x-${n % 20}`;
        const op = n % 5;
        if (op === 4) await write(() => client.request('DELETE', path(k, name)));
        else if (op === 3)
          await write(() =>
            client.request('PATCH', path(k, name), {
              body: { metadata: { annotations: { step: String(i) } } },
              contentType: 'application/merge-patch+json',
            }),
          );
        else
          await write(() =>
            client.request('POST', path(k), {
              body: { apiVersion: apiVersion(kinds[k.kind]), kind: k.kind, metadata: { name }, spec: k.spec(name, i) },
            }),
          );
        ops++;
        await delay(40);
      }
    })();
    const steady = async (n: number) => {
      const target = ops + n;
      await eventually(() => (ops >= target ? true : undefined), 120_000);
    };
    // Right after a restart, while the gateway is still backing off: changes it will only learn of by relisting.
    const burst = () =>
      Promise.all(
        storm.flatMap((k) =>
          ['x-0', 'x-1', 'x-2', 'x-3', 'x-4', 'x-5'].map((name) => write(() => client.request('DELETE', path(k, name)))),
        ),
      );
    const stats = (kind: string) => gw.cache.stats.find((s) => s.kind === kind);

    await steady(60);
    await killAndRestart();
    await burst();
    await steady(60);

    // The resumers leave at a point of the storm's choosing, and come back later with their last cursor.
    await steady(20 + Math.floor(Math.random() * 60));
    const lastCursors = resumers.map((r) => {
      r.sub.dispose();
      r.before = eventsOf(r);
      return r.before.findLast((e) => e.cursor)?.cursor ?? undefined;
    });

    const stallsBefore = storm.map((k) => stats(k.kind)?.stalls ?? 0);
    process.kill(serverPid(), 'SIGSTOP');
    // Frozen until every kind's watchdog has given up on its watch (5 s of silence each).
    await eventually(
      () => (storm.every((k, i) => (stats(k.kind)?.stalls ?? 0) > (stallsBefore[i] as number)) ? true : undefined),
      30_000,
    );
    process.kill(serverPid(), 'SIGCONT');
    await steady(60);

    // A partition: the gateway sees nothing while three objects of each kind it knows are deleted, etcd is
    // compacted past those deletions and the control plane killed and restarted. When it heals, the gateway's
    // watch is answered 410 and its relist must report the three deletions it missed.
    const keep = ['keep-0', 'keep-1', 'keep-2'];
    for (const k of storm) {
      for (const name of keep) {
        await write(() =>
          client.request('POST', path(k), {
            body: { apiVersion: apiVersion(kinds[k.kind]), kind: k.kind, metadata: { name }, spec: k.spec(name, 0) },
          }),
        );
      }
    }
    await eventually(() => (storm.every((k) => keep.every((n) => gw.cache.kind(k.kind).get(ns, n))) ? true : undefined));
    const expiredBefore = storm.map((k) => stats(k.kind)?.expired ?? 0);
    proxy.cut();
    await Promise.all(storm.flatMap((k) => keep.map((name) => write(() => client.request('DELETE', path(k, name))))));
    await steady(40);
    await compactEtcd();
    await killAndRestart();
    await steady(20);
    proxy.heal();
    await eventually(
      () => (storm.every((k, i) => (stats(k.kind)?.expired ?? 0) > (expiredBefore[i] as number)) ? true : undefined),
      60_000,
    );
    await steady(40);
    resumers.forEach((r, i) => {
      r.sub = collect<Record<string, Ev>>(gw.ws(), subscription(r.kind, lastCursors[i]));
    });
    await changeCrd();
    await steady(80);
    writing = false;
    await writer;

    const expectedOf = new Map<string, Map<string, string>>();
    for (const kind of storm) {
      const cluster = await client.request<KubeList>('GET', path(kind));
      const expected = new Map(cluster.items.map((o) => [o.metadata.name, o.metadata.resourceVersion ?? '']));
      expectedOf.set(kind.kind, expected);
      for (const [i, s] of [...subscribers, ...resumers].filter((s) => s.kind === kind).entries()) {
        const what = `${kind.kind} subscriber ${i}`;
        await eventually(() => (sorted(view(eventsOf(s))) === sorted(expected) ? true : undefined), 60_000).catch(() => {
          throw new Error(`${what}: view ${sorted(view(eventsOf(s)))} is not the cluster's ${sorted(expected)}`);
        });
        expect(s.sub.failure, what).toBeUndefined();
        expect(repeats(eventsOf(s)), what).toEqual([]);
      }

      // A resume from every cursor the first subscriber was given, as the gateway's log answers it.
      const events = eventsOf(subscribers.find((s) => s.kind === kind) as Subscriber);
      const log = gw.cache.kind(kind.kind).log;
      for (const [k, e] of events.entries()) {
        if (!e.cursor) continue;
        const replay = log.since(e.cursor)?.map((r) => ({
          type: r.type,
          resourceVersion: r.resourceVersion,
          cursor: r.cursor,
          object: { name: r.object.metadata.name, resourceVersion: r.object.metadata.resourceVersion ?? '' },
        }));
        // The log replays exactly what the subscriber was sent after that event (undefined would be RESYNC).
        expect(
          replay?.map((r) => r.cursor),
          `${kind.kind} since ${e.cursor}`,
        ).toEqual(events.slice(k + 1).flatMap((x) => (x.cursor ? [x.cursor] : [])));
        const resumed = [...events.slice(0, k + 1), ...(replay ?? [])];
        expect(sorted(view(resumed)), `${kind.kind} since ${e.cursor}`).toBe(sorted(expected));
        expect(repeats(resumed), `${kind.kind} since ${e.cursor}`).toEqual([]);
      }
    }
    // The faults happened as intended, for every kind: a 410 relist, and a stalled watch.
    for (const kind of storm) {
      const s = stats(kind.kind);
      // The partition's 410 for certain; the first restart's watch is often, not always, answered 410 too.
      expect(s?.expired, kind.kind).toBeGreaterThanOrEqual(1);
      expect(s?.relists, kind.kind).toBe(s?.expired);
      expect(s?.stalls, kind.kind).toBeGreaterThanOrEqual(1);
    }
    // The partition's relist reported each deletion with the version the gateway last knew, and all but the
    // relist's last event carry a cursor that names the relist.
    for (const s of subscribers) {
      const events = eventsOf(s);
      for (const name of keep) {
        const added = events.find((e) => e.type === 'ADDED' && e.object?.name === name);
        const deleted = events.filter((e) => e.type === 'DELETED' && e.object?.name === name);
        expect(
          deleted.map((e) => e.resourceVersion),
          `${s.kind.kind} ${name}`,
        ).toEqual([added?.resourceVersion]);
      }
      expect(events.filter((e) => e.cursor?.split(':').length === 4).length, s.kind.kind).toBeGreaterThanOrEqual(2);
    }
    // Through GraphQL too: a subscriber resuming from the first cursor inside that relist gets exactly the rest.
    for (const kind of storm) {
      const events = eventsOf(subscribers.find((s) => s.kind === kind) as Subscriber);
      const k = events.findIndex((e) => e.cursor?.split(':').length === 4);
      const resumed: Subscriber = {
        kind,
        sub: collect<Record<string, Ev>>(gw.ws(), subscription(kind, events[k]?.cursor ?? undefined)),
        before: events.slice(0, k + 1),
      };
      await eventually(() => (eventsOf(resumed).length === events.length ? true : undefined), 20_000);
      expect(
        eventsOf(resumed).map((e) => e.cursor),
        kind.kind,
      ).toEqual(events.map((e) => e.cursor));
      resumed.sub.dispose();
    }

    // Another replica: a cursor inside a relist it never made is RESYNC and the current state; a complete
    // cursor resumes exactly (nothing to replay, so the next event is the next change).
    const events = eventsOf(subscribers[0] as Subscriber);
    const kind = storm[0];
    const inRelist = events.find((e) => e.cursor?.split(':').length === 4)?.cursor ?? undefined;
    const resyncs = () => replica.cache.histories.find((h) => h.kind === kind.kind)?.resyncs;
    const resyncsBefore = resyncs() as number;
    const elsewhere: Subscriber = {
      kind,
      sub: collect<Record<string, Ev>>(replica.ws(), subscription(kind, inRelist)),
      before: [],
    };
    await eventually(
      () => (sorted(view(eventsOf(elsewhere))) === sorted(expectedOf.get(kind.kind) as Map<string, string>) ? true : undefined),
      20_000,
    );
    expect(eventsOf(elsewhere)[0]?.type).toBe('RESYNC');
    expect(resyncs()).toBe(resyncsBefore + 1);
    const last = events.at(-1)?.cursor ?? undefined;
    expect(last).toMatch(/^v1:\d+$/);
    const replicaView = () =>
      new Map([...replica.cache.kind(kind.kind).list(ns)].map((o) => [o.metadata.name, o.metadata.resourceVersion ?? '']));
    await eventually(
      () => (sorted(replicaView()) === sorted(expectedOf.get(kind.kind) as Map<string, string>) ? true : undefined),
      20_000,
    );
    const listeners = replica.cache.kind(kind.kind).listenerCount;
    const exact = collect<Record<string, Ev>>(replica.ws(), subscription(kind, last));
    await eventually(() => (replica.cache.kind(kind.kind).listenerCount > listeners ? true : undefined));
    await write(() =>
      client.request('POST', path(kind), {
        body: {
          apiVersion: apiVersion(kinds[kind.kind]),
          kind: kind.kind,
          metadata: { name: 'probe' },
          spec: kind.spec('probe', 0),
        },
      }),
    );
    await eventually(() => (exact.received.length > 0 ? true : undefined), 20_000);
    expect(exact.received.map((r) => `${(r[kind.field] as Ev).type} ${(r[kind.field] as Ev).object?.name}`)).toEqual([
      'ADDED probe',
    ]);
    expect(resyncs()).toBe(resyncsBefore + 1);
    exact.dispose();
    elsewhere.sub.dispose();
    for (const s of [...subscribers, ...resumers]) s.sub.dispose();
  }, 300_000);
});
