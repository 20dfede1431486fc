import fc from 'fast-check';
import { type ExecutionResult, execute, parse } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccessReviewBudget } from '../../src/auth/AccessReviewBudget.js';
import { Authenticator } from '../../src/auth/Authenticator.js';
import { Authorizer } from '../../src/auth/Authorizer.js';
import type { Caller } from '../../src/auth/Caller.js';
import type { Context } from '../../src/context.js';
import { apiVersion, kinds, objectKey, resourcePath } from '../../src/kube/kinds.js';
import type { ReflectorEvent } from '../../src/kube/Reflector.js';
import { ObjectLoaders } from '../../src/loaders.js';
import { defaultYamlLimits } from '../../src/resources/readYaml.js';
import { schema } from '../../src/schema/index.js';
import { defaultSubscriptionLimits } from '../../src/subscriptions/limits.js';
import type { StreamEvent } from '../../src/subscriptions/SubscriberQueue.js';
import { createNamespace, eventually, kubeClient, type TestUser, testLogger } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';

/**
 * Issue 13's equivalence test: for random mixes of subscribers (documents,
 * variables, users with different rights, namespaces, `since`), the grouped
 * fan-out delivers to each subscriber exactly the payloads that executing its
 * own document for it, event by event, would (the model below: no groups,
 * one execution per subscriber and event, the documented rules for replay,
 * RESYNC and unchanged MODIFIED events), across an access revocation and a
 * RESYNC. Users: admin (everything), alice (edit in namespace A: revoked in
 * phase 3), bob (view in B), mallory (PipelineResources only in A: nested
 * bindings are hidden from her, so her payloads differ from admin's for the
 * same document).
 */

const admin = kubeClient('admin');
let gw: TestGateway;
const callers = new Map<TestUser, Caller>();
const users: TestUser[] = ['admin', 'alice', 'bob', 'mallory'];

beforeAll(async () => {
  gw = await startGateway({ auth: 'token', accessReviewTtlMs: 200, subscriptions: { accessRecheckMs: 250 } });
  const authenticator = new Authenticator({ client: admin, logger: testLogger });
  for (const u of users) callers.set(u, (await authenticator.authenticate(userToken(u), 'test')) as Caller);
});

afterAll(async () => gw?.stop());

const documents = [
  // Event position shown: every result differs.
  'subscription($ns: String, $type: String, $since: String) { pipelineResourceEvents(namespace: $ns, type: $type, since: $since) { type resourceVersion cursor object { name } } }',
  // The object's own fields: one group for every user, unchanged MODIFIED left out.
  'subscription($ns: String, $type: String, $since: String) { pipelineResourceEvents(namespace: $ns, type: $type, since: $since) { type object { name description params { name value } } } }',
  'subscription($ns: String, $type: String, $since: String) { pipelineResourceEvents(namespace: $ns, type: $type, since: $since) { type object { name labels { key value } } } }',
  // Reads other objects with the caller's rights: a group per caller.
  'subscription($ns: String, $type: String, $since: String) { pipelineResourceEvents(namespace: $ns, type: $type, since: $since) { type object { name bindings { name } } } }',
  // Asks for every event.
  'subscription($ns: String, $type: String, $since: String) { pipelineResourceEvents(namespace: $ns, type: $type, since: $since, includeUnchanged: true) { type object { name description } } }',
] as const;
/** Documents a resuming subscriber may use: RESYNC's version is the whole kind's, which other files' writes move. */
const resumable = [1, 2, 3, 4];

interface SubscriberSpec {
  doc: number;
  user: TestUser;
  ns: 0 | 1;
  type: 'git' | 'image' | null;
  phase: 1 | 2;
  since: 'none' | 'recent' | 'stale';
}

interface Write {
  ns: 0 | 1;
  name: number;
  op: 'upsert' | 'describe' | 'label' | 'delete';
}

const subscriberArb: fc.Arbitrary<SubscriberSpec> = fc
  .record({
    doc: fc.integer({ min: 0, max: documents.length - 1 }),
    user: fc.constantFrom<TestUser>(...users),
    ns: fc.constantFrom<0 | 1>(0, 1),
    type: fc.constantFrom<'git' | 'image' | null>('git', 'image', null),
    phase: fc.constantFrom<1 | 2>(1, 2),
    since: fc.constantFrom<'none' | 'recent' | 'stale'>('none', 'recent', 'stale'),
  })
  .map((s) => ({
    ...s,
    since: s.phase === 1 ? 'none' : s.since,
    doc: s.phase === 2 && s.since !== 'none' && !resumable.includes(s.doc) ? 1 : s.doc,
  }));
const writeArb: fc.Arbitrary<Write> = fc.record({
  ns: fc.constantFrom<0 | 1>(0, 1),
  name: fc.integer({ min: 0, max: 3 }),
  op: fc.constantFrom<Write['op']>('upsert', 'describe', 'label', 'delete'),
});

/** Who may watch PipelineResources where (before phase 3: alice loses A then). */
function mayWatch(user: TestUser, ns: 0 | 1, revoked: boolean): boolean {
  if (user === 'admin') return true;
  if (user === 'alice') return ns === 0 && !revoked;
  if (user === 'bob') return ns === 1;
  return ns === 0; // mallory
}

/** How a subscription ended: its error's code, or the code its socket was closed with. */
function endOf(failure: unknown): string | undefined {
  if (Array.isArray(failure)) return (failure[0] as { extensions?: { code?: string } })?.extensions?.code;
  if (failure && typeof failure === 'object' && 'code' in failure) return `close ${(failure as { code: number }).code}`;
  return undefined;
}

function contextFor(caller: Caller, authorizer: Authorizer): Context {
  const accessReviews = new AccessReviewBudget(100);
  return {
    requestId: 'model',
    logger: testLogger,
    caller,
    authorizer,
    accessReviews,
    cache: gw.cache,
    loaders: new ObjectLoaders({ cache: gw.cache, kube: admin, caller, authorizer, accessReviews }),
    kube: admin,
    subscriptions: defaultSubscriptionLimits,
    yaml: defaultYamlLimits,
    fanOut: undefined as never, // the model executes events itself
  };
}

/** Per-subscriber execution: what the subscriber's own document gives for one event, as the gateway serializes it. */
async function render(spec: SubscriberSpec, vars: Record<string, unknown>, event: StreamEvent, authorizer: Authorizer) {
  const result = (await execute({
    schema,
    document: parse(documents[spec.doc] as string),
    rootValue: event,
    contextValue: contextFor(callers.get(spec.user) as Caller, authorizer),
    variableValues: vars,
  })) as ExecutionResult;
  return JSON.stringify(result);
}

/**
 * One mix that has every case, besides the random ones: alice and admin in one group (the object's own fields) until
 * alice is revoked; mallory and admin with a document that reads bindings (two groups, different payloads); a label
 * change that leaves documents without labels unchanged; a RESYNC and a replay.
 */
const example: [SubscriberSpec[], Write[], Write[], Write[]] = [
  [
    { doc: 1, user: 'alice', ns: 0, type: null, phase: 1, since: 'none' },
    { doc: 1, user: 'admin', ns: 0, type: null, phase: 1, since: 'none' },
    { doc: 3, user: 'mallory', ns: 0, type: null, phase: 1, since: 'none' },
    { doc: 3, user: 'admin', ns: 0, type: null, phase: 1, since: 'none' },
    { doc: 4, user: 'admin', ns: 0, type: 'git', phase: 1, since: 'none' },
    { doc: 0, user: 'bob', ns: 1, type: null, phase: 1, since: 'none' },
    { doc: 2, user: 'admin', ns: 0, type: null, phase: 2, since: 'stale' },
    { doc: 1, user: 'bob', ns: 1, type: null, phase: 2, since: 'recent' },
    { doc: 1, user: 'bob', ns: 0, type: null, phase: 2, since: 'none' },
  ],
  [
    { ns: 0, name: 0, op: 'upsert' },
    { ns: 0, name: 1, op: 'upsert' },
    { ns: 1, name: 0, op: 'upsert' },
    { ns: 1, name: 1, op: 'describe' },
    { ns: 0, name: 0, op: 'label' },
  ],
  [
    { ns: 0, name: 0, op: 'describe' },
    { ns: 0, name: 1, op: 'label' },
    { ns: 1, name: 0, op: 'label' },
  ],
  [
    { ns: 0, name: 0, op: 'label' },
    { ns: 0, name: 1, op: 'delete' },
    { ns: 1, name: 1, op: 'describe' },
  ],
];

/** What the runs covered, so that a run of nothing cannot pass. */
const covered = { delivered: 0, unchanged: 0, resyncs: 0, revoked: 0, refused: 0 };

it('grouped fan-out gives every subscriber exactly the payloads per-subscriber execution would', async () => {
  const recorded: ReflectorEvent[] = [];
  const off = gw.cache.kind('PipelineResource').subscribe((e) => recorded.push(e));
  // The model's own reviews, uncached, so it sees a revocation at once.
  const authorizer = new Authorizer({ client: admin, logger: testLogger, cache: { ttlMs: 1 } });
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(subscriberArb, { minLength: 4, maxLength: 24 }),
        fc.array(writeArb, { minLength: 4, maxLength: 14 }),
        fc.array(writeArb, { minLength: 2, maxLength: 10 }),
        fc.array(writeArb, { minLength: 2, maxLength: 10 }),
        async (specs, w1, w2, w3) => {
          const nsA = await createNamespace('fanout-a');
          const nsB = await createNamespace('fanout-b');
          const names = [nsA.name, nsB.name];
          const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${nsA.name}`;
          const grants = [
            { ns: nsA.name, name: 'alice-edit', role: 'ClusterRole', roleName: 'edit', user: 'alice' },
            { ns: nsB.name, name: 'bob-view', role: 'ClusterRole', roleName: 'view', user: 'bob' },
            { ns: nsA.name, name: 'mallory-resources', role: 'Role', roleName: 'resources-only', user: 'mallory' },
          ];
          await admin.request('POST', `${rbac}/roles`, {
            body: {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'Role',
              metadata: { name: 'resources-only' },
              rules: [{ apiGroups: ['tekton.dev'], resources: ['pipelineresources'], verbs: ['get', 'list', 'watch'] }],
            },
          });
          for (const g of grants)
            await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${g.ns}/rolebindings`, {
              body: {
                apiVersion: 'rbac.authorization.k8s.io/v1',
                kind: 'RoleBinding',
                metadata: { name: g.name },
                roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: g.role, name: g.roleName },
                subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: g.user }],
              },
            });
          const present = new Set<string>();
          const subs: {
            spec: SubscriberSpec;
            vars: Record<string, unknown>;
            sub: ReturnType<typeof collect<Record<string, unknown>>>;
            expected: string[];
            /** Per object, the last live result (the model of "unchanged"). */
            last: Map<string, string>;
            joinedAt: number;
            live: boolean;
          }[] = [];
          try {
            // A binding in each namespace, so `bindings` shows what a caller may list.
            for (const ns of names) {
              await admin.request('POST', resourcePath(kinds.ResourceBinding, ns), {
                body: {
                  apiVersion: apiVersion(kinds.ResourceBinding),
                  kind: 'ResourceBinding',
                  metadata: { name: 'bind' },
                  spec: {
                    pipelineRef: { name: 'p' },
                    resources: [0, 1, 2, 3].map((i) => ({ name: `s${i}`, resourceRef: { name: `r${i}` } })),
                  },
                },
              });
            }
            await eventually(() => (names.every((ns) => gw.cache.kind('ResourceBinding').get(ns, 'bind')) ? true : undefined));
            let writes = 0;
            /** Writes in order; resolves once the cache has seen the last one. */
            const apply = async (script: Write[]) => {
              let last: { ns: string; name: string; rv: string | undefined; gone: boolean } | undefined;
              for (const w of script) {
                const ns = names[w.ns] as string;
                const name = `r${w.name}`;
                const key = `${ns}/${name}`;
                const path = resourcePath(kinds.PipelineResource, ns, name);
                writes++;
                if (w.op === 'delete') {
                  if (!present.has(key)) continue;
                  await admin.request('DELETE', path);
                  present.delete(key);
                  last = { ns, name, rv: undefined, gone: true };
                  continue;
                }
                let obj: { metadata: { resourceVersion?: string } };
                if (!present.has(key) || w.op === 'upsert') {
                  if (present.has(key)) {
                    obj = await admin.request('PATCH', path, {
                      body: { spec: { params: [{ name: 'url', value: `https://e.com/${writes}` }] } },
                      contentType: 'application/merge-patch+json',
                    });
                  } else {
                    obj = await admin.request('POST', resourcePath(kinds.PipelineResource, ns), {
                      body: {
                        apiVersion: apiVersion(kinds.PipelineResource),
                        kind: 'PipelineResource',
                        metadata: { name },
                        spec: {
                          type: w.name % 2 ? 'image' : 'git',
                          params: [{ name: 'url', value: `https://e.com/${writes}` }],
                        },
                      },
                    });
                    present.add(key);
                  }
                } else {
                  // `describe` changes the spec; `label` only metadata (unchanged for a selection without labels).
                  obj = await admin.request('PATCH', path, {
                    body:
                      w.op === 'describe'
                        ? { spec: { description: `d${writes % 3}` } }
                        : { metadata: { labels: { round: String(writes) } } },
                    contentType: 'application/merge-patch+json',
                  });
                }
                last = { ns, name, rv: obj.metadata.resourceVersion, gone: false };
              }
              if (last) {
                const l = last;
                await eventually(() => {
                  const now = gw.cache.kind('PipelineResource').get(l.ns, l.name);
                  return (l.gone ? !now : now?.metadata.resourceVersion === l.rv) ? true : undefined;
                });
              }
            };
            /** The model: the live events since each subscriber joined, executed for it alone. */
            const model = async (from: number) => {
              const events = recorded.slice(from);
              for (const s of subs) {
                if (!s.live) continue;
                for (const e of events.slice(Math.max(0, s.joinedAt - from))) {
                  if (e.object.metadata.namespace !== s.vars.ns) continue;
                  if (s.spec.type && e.object.spec && (e.object.spec as { type?: string }).type !== s.spec.type) continue;
                  const json = await render(s.spec, s.vars, e, authorizer);
                  const key = objectKey(e.object);
                  const unchanged = e.type === 'MODIFIED' && s.spec.doc !== 4 && s.last.get(key) === json;
                  if (e.type === 'DELETED') s.last.delete(key);
                  else s.last.set(key, json);
                  if (unchanged) covered.unchanged++;
                  else s.expected.push(json);
                }
              }
            };
            const join = async (phase: 1 | 2, revoked: boolean, recentCursor: string | undefined) => {
              const cache = gw.cache.kind('PipelineResource');
              const before = cache.listenerCount;
              let attached = 0;
              for (const spec of specs.filter((s) => s.phase === phase)) {
                const vars: Record<string, unknown> = { ns: names[spec.ns], type: spec.type };
                const since = spec.since === 'stale' ? 'v1:1' : spec.since === 'recent' ? recentCursor : undefined;
                const allowed = mayWatch(spec.user, spec.ns, revoked);
                const expected: string[] = [];
                if (allowed && since) {
                  // Replay, or RESYNC and the state now: as the gateway answers, rendered for this subscriber.
                  const missed = cache.log.since(since);
                  const replay: StreamEvent[] = missed ?? [
                    { type: 'RESYNC', object: null, resourceVersion: cache.resourceVersion ?? '', cursor: null },
                    ...[...cache.list(vars.ns as string)].map((o) => ({
                      type: 'ADDED' as const,
                      object: o,
                      resourceVersion: o.metadata.resourceVersion ?? '',
                      cursor: null,
                    })),
                  ];
                  if (!missed) covered.resyncs++;
                  for (const e of replay) {
                    if (e.object && e.object.metadata.namespace !== vars.ns) continue;
                    if (e.object && spec.type && (e.object.spec as { type?: string }).type !== spec.type) continue;
                    expected.push(await render(spec, vars, e, authorizer));
                  }
                }
                const sub = collect<Record<string, unknown>>(
                  gw.ws(userToken(spec.user)),
                  documents[spec.doc] as string,
                  since ? { ...vars, since } : vars,
                );
                subs.push({ spec, vars, sub, expected, last: new Map(), joinedAt: recorded.length, live: allowed });
                if (allowed) attached++;
              }
              await eventually(() => (cache.listenerCount >= before + attached ? true : undefined));
            };
            await join(1, false, undefined);
            let from = recorded.length;
            await apply(w1);
            await model(from);
            const mine = recorded.filter((e) => names.includes(e.object.metadata.namespace ?? ''));
            await join(2, false, mine.at(-2)?.cursor ?? mine.at(-1)?.cursor ?? 'v1:1');
            from = recorded.length;
            await apply(w2);
            await model(from);
            // Phase 3: alice loses namespace A; her subscriptions end, everyone else's go on.
            await admin.request('DELETE', `${rbac}/rolebindings/alice-edit`);
            const alices = subs.filter((s) => s.live && s.spec.user === 'alice');
            await eventually(() => (alices.every((s) => s.sub.failure) ? true : undefined), 15_000);
            for (const s of alices) s.live = false;
            covered.revoked += alices.length;
            from = recorded.length;
            await apply(w3);
            await model(from);

            for (const s of subs) {
              const got = () => s.sub.received.map((d) => JSON.stringify({ data: d }));
              await eventually(() => (got().length >= s.expected.length || s.sub.failure ? true : undefined), 15_000).catch(
                () => {},
              );
              const label = `${JSON.stringify(s.spec)} ${JSON.stringify(s.vars)}`;
              covered.delivered += s.expected.length;
              if (!mayWatch(s.spec.user, s.spec.ns, false)) {
                covered.refused++;
                expect(endOf(s.sub.failure), label).toBe('FORBIDDEN');
                expect(got(), label).toEqual([]);
                continue;
              }
              expect(got(), label).toEqual(s.expected);
              // A revoked subscription ends with FORBIDDEN, and its socket is closed with 4403: whichever the client saw first.
              if (s.spec.user === 'alice') expect(['FORBIDDEN', 'close 4403'], label).toContain(endOf(s.sub.failure));
              else expect(s.sub.failure, label).toBeUndefined();
            }
          } finally {
            for (const s of subs) s.sub.dispose();
            for (const g of grants)
              await admin
                .request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${g.ns}/rolebindings/${g.name}`)
                .catch(() => {});
            await admin.request('DELETE', `${rbac}/roles/resources-only`).catch(() => {});
            for (const ns of names) {
              for (const kind of [kinds.PipelineResource, kinds.ResourceBinding])
                await admin.request('DELETE', resourcePath(kind, ns)).catch(() => {});
            }
            await nsA.remove();
            await nsB.remove();
          }
        },
      ),
      { numRuns: 5, endOnFailure: true, examples: [example] },
    );
    expect(covered.delivered).toBeGreaterThan(20);
    expect(covered.unchanged).toBeGreaterThan(0);
    expect(covered.resyncs).toBeGreaterThan(0);
    expect(covered.revoked).toBeGreaterThan(0);
    expect(covered.refused).toBeGreaterThan(0);
  } finally {
    off();
  }
}, 600_000);
