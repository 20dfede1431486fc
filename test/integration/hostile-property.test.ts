import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { schema } from '../../src/schema/index.js';
import { createNamespace, kubeClient, type TestUser } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';
import { binding, createObjects, gitResource, imageResource, pipeline } from '../helpers/objects.js';
import { type RandomOperation, randomOperation, type ValuePools } from '../helpers/randomOperation.js';
import { assertNoSecret, createSecret } from '../helpers/secrets.js';

/**
 * Random valid operations, walked from the served schema (fields, arguments
 * with ordinary and hostile values, aliases, fragments, variables), sent as
 * mallory (no rights) and alice (edit in team-a) to a gateway in token mode:
 * the gateway answers every one, never with a 5xx or INTERNAL_SERVER_ERROR,
 * every error carries one of the codes written down below, and no answer holds
 * an object, or the global ID of one, from a namespace the caller may not read.
 * Objects to leak are seeded in team-a, team-b and a namespace of this file's own.
 * 10,000 cases take 75–150 s on 2 shared cores; HOSTILE_PROPERTY_RUNS (per user)
 * and HOSTILE_PROPERTY_SEED change the count and the seed.
 */
const suffix = randomBytes(3).toString('hex');
const admin = kubeClient('admin');
/** Cases per user: 10,000 in all. */
const runsPerUser = Number(process.env.HOSTILE_PROPERTY_RUNS ?? 5_000);

/** What each user may read (tools/kube-testserver/main.go: alice `edit` team-a; mallory nothing). */
const readable: Record<'alice' | 'mallory', ReadonlySet<string>> = {
  alice: new Set(['team-a']),
  mallory: new Set(),
};

/**
 * The refusals a valid operation may get, each with a code and, for the
 * refusals graphql-armor raises without a code of their own, the message that
 * names the limit. Anything else fails the property.
 */
const allowedErrors: { code: string; message?: RegExp }[] = [
  { code: 'FORBIDDEN' },
  { code: 'NOT_FOUND' },
  { code: 'BAD_USER_INPUT' },
  { code: 'QUERY_TOO_COSTLY' },
  { code: 'GRAPHQL_VALIDATION_FAILED', message: /depth limit of \d+ exceeded|aliases limit of \d+ exceeded/i },
  { code: 'GRAPHQL_PARSE_FAILED', message: /token limit of \d+ exceeded/i },
  // The hostile-tenant limits of issue 11 (docs/security.md, Limits): the execution budget and the access-review budget.
  { code: 'EXECUTION_BUDGET_EXCEEDED' },
  { code: 'RESPONSE_TOO_LARGE' },
  { code: 'TOO_MANY_ACCESS_REVIEWS' },
];

/** Types whose objects are stored in a namespace, and the global ID prefixes that name one. */
const namespacedTypes = new Set(['PipelineResource', 'ResourceBinding', 'Pipeline', 'Task', 'PipelineRun', 'TaskRun']);

let gw: TestGateway;
let own: { name: string; remove: () => Promise<void> };
const seededIn = ['team-a', 'team-b'];
const created: { namespace: string; kind: keyof typeof kinds; name: string }[] = [];

const n = (base: string) => `hp-${base}-${suffix}`;

async function seed(ns: string) {
  await createSecret(ns, n('creds'), ['token']);
  const objects = [
    {
      ...gitResource(n('repo')),
      body: {
        metadata: { labels: { app: 'hp' } },
        spec: {
          type: 'git',
          description: 'seeded by the property test',
          params: [{ name: 'url', value: 'https://example.com/r.git' }],
          secrets: [{ fieldName: 'token', secretName: n('creds'), secretKey: 'token' }],
        },
      },
    },
    imageResource(n('image')),
    pipeline(n('pipe'), { source: 'git', image: 'image' }, [{ name: 'build', taskRef: n('task') }]),
    binding(n('pipe'), n('pipe'), { source: n('repo'), image: n('image') }),
    {
      kind: 'Task' as const,
      name: n('task'),
      body: { spec: { description: 'builds', params: [{ name: 'x' }], steps: [{ name: 's', image: 'x' }] } },
    },
  ];
  const [repo] = await createObjects(ns, objects);
  await createObjects(ns, [
    {
      kind: 'PipelineRun',
      name: n('run'),
      body: {
        metadata: {
          annotations: {
            'resources.tekton.dev/resources': JSON.stringify([
              { slot: 'source', name: n('repo'), type: 'git', resourceVersion: repo?.metadata.resourceVersion },
            ]),
          },
        },
        spec: { pipelineRef: { name: n('pipe') } },
      },
    },
    {
      kind: 'TaskRun',
      name: n('taskrun'),
      body: { metadata: { labels: { 'tekton.dev/pipelineRun': n('run') } }, spec: { taskRef: { name: n('task') } } },
    },
  ]);
  for (const o of [
    ...objects,
    { kind: 'PipelineRun' as const, name: n('run') },
    { kind: 'TaskRun' as const, name: n('taskrun') },
  ])
    created.push({ namespace: ns, kind: o.kind, name: o.name });
}

function pools(): ValuePools {
  const namespaces = [...seededIn, own.name];
  const names = ['repo', 'image', 'pipe', 'task', 'run', 'taskrun', 'creds'].map(n);
  const hostileNames = ['', 'a'.repeat(64), 'a'.repeat(254), 'x'.repeat(5_000), 'UPPER', '-x', '..', 'a/b', '*', 'ü\u0000'];
  const ids: string[] = ['', 'bm90LWFuLWlk', 'UGlwZWxpbmVSZXNvdXJjZTo=', 'x'.repeat(3_000)];
  for (const ns of [...namespaces, 'no-such-ns', '', '../team-b']) {
    ids.push(encodeGlobalID('Namespace', ns));
    for (const type of [...namespacedTypes, 'Secret', 'Nope']) {
      for (const name of names) ids.push(encodeGlobalID(type, `${ns}/${name}`));
    }
  }
  ids.push(encodeGlobalID('PipelineResource', 'team-b'), encodeGlobalID('PipelineResource', `team-b/${n('repo')}/x`));
  const representations: Record<string, unknown>[] = [];
  for (const type of ['PipelineResource', 'Pipeline', 'PipelineRun', 'ResourceBinding', 'Namespace', 'Task', 'Nope']) {
    for (const ns of namespaces) {
      const name = type === 'Pipeline' || type === 'ResourceBinding' ? n('pipe') : type === 'PipelineRun' ? n('run') : n('repo');
      representations.push(
        { __typename: type, namespace: ns, name },
        { __typename: type, id: encodeGlobalID(type, `${ns}/${name}`) },
      );
    }
    representations.push({ __typename: type, name: 'team-b' }, { __typename: type }, { __typename: type, id: 42 });
  }
  representations.push(
    {},
    { __typename: 'Namespace', name: 'team-b' },
    { __typename: 'Namespace', id: encodeGlobalID('Namespace', 'team-b') },
  );
  const legacy = (ns: string, name: string) =>
    `apiVersion: tekton.dev/v1alpha1\nkind: PipelineResource\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  type: git\n  params:\n    - name: url\n      value: https://example.com/r.git\n`;
  return {
    namespaces: [
      ...namespaces,
      ...namespaces,
      '',
      'default',
      'kube-system',
      'no-such-ns',
      'Team-A',
      'team-a ',
      '../team-b',
      'team-a/team-b',
      '*',
      'a'.repeat(63),
      'a'.repeat(64),
      'x'.repeat(5_000),
      'ü\u0000',
    ],
    names: [...names, ...names, ...hostileNames],
    ids,
    representations,
    yaml: [
      legacy('team-a', `hp-import-${suffix}`),
      legacy('team-b', `hp-import-${suffix}`),
      `${legacy(own.name, 'a')}---\n${legacy('team-b', 'b')}`,
      '',
      '---',
      'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n',
      `${'['.repeat(500)}${']'.repeat(500)}`,
      'kind: Pipeline\napiVersion: tekton.dev/v1beta1\nmetadata: {name: p}\nspec: {resources: [{name: s, type: git}]}\n',
      ': : :',
    ],
    strings: [
      ...names,
      ...namespaces,
      '',
      'git',
      'image',
      'nope',
      'app=hp',
      'app in (hp, x)',
      '!!',
      '=',
      'a'.repeat(300),
      'x'.repeat(10_000),
      '%',
      '.*',
      Buffer.from('team-b/x').toString('base64url'),
      '0',
      '1',
      '999999999999',
      '-1',
      'ü\u0000\u2028',
    ],
    ints: [0, 1, 2, 5, 20, 100, 500, 501, -1, 50, 2_147_483_647, -2_147_483_648],
  };
}

beforeAll(async () => {
  own = await createNamespace('hp');
  for (const ns of [...seededIn, own.name]) await seed(ns);
  // Thousands of operations: the per-user rate limit has its own test (abuse.test.ts); every other limit is the default.
  gw = await startGateway({ auth: 'token', http: { rate: { burst: 1_000_000, perSecond: 1_000_000 } } });
});

afterAll(async () => {
  await gw?.stop();
  for (const o of created) {
    if (o.namespace === own.name) continue;
    await admin.request('DELETE', resourcePath(kinds[o.kind], o.namespace, o.name)).catch(() => {});
  }
  for (const ns of seededIn) await admin.request('DELETE', `/api/v1/namespaces/${ns}/secrets/${n('creds')}`).catch(() => {});
  await own?.remove();
});

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; path?: unknown; extensions?: { code?: string } }[] };
}

async function send(op: RandomOperation, user: TestUser): Promise<Answer> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken(user)}` },
    body: JSON.stringify({ query: op.query, variables: op.variables }),
  });
  const text = await res.text();
  assertNoSecret(text);
  return { status: res.status, body: JSON.parse(text) };
}

/** Every object, or global ID, in `data` from a namespace outside `may`; `namespace(name:)` may echo its own argument. */
function leaks(data: unknown, may: ReadonlySet<string>, rootFields: Record<string, string>): string[] {
  const found: string[] = [];
  const visit = (v: unknown, path: string, echo: boolean) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) visit(x, `${path}[${i}]`, echo);
      return;
    }
    if (typeof v === 'string') {
      const id = decodeId(v);
      if (!id) return;
      if (id.type === 'Namespace' ? !echo && !may.has(id.rest) : !may.has(id.rest.split('/')[0] ?? '')) {
        found.push(`${path}: global ID ${id.type}:${id.rest}`);
      }
      return;
    }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const type = o.__typename;
    if (typeof type === 'string' && namespacedTypes.has(type) && typeof o.namespace === 'string' && !may.has(o.namespace))
      found.push(`${path}: ${type} in ${o.namespace}`);
    if (type === 'Namespace' && !echo && typeof o.name === 'string' && !may.has(o.name))
      found.push(`${path}: Namespace ${o.name}`);
    for (const [k, child] of Object.entries(o))
      visit(child, `${path}.${k}`, echo || (path === '' && rootFields[k] === 'namespace'));
  };
  visit(data, '', false);
  return found;
}

function decodeId(s: string): { type: string; rest: string } | undefined {
  if (s.length > 4096 || !/^[A-Za-z0-9+/=_-]+$/.test(s)) return undefined;
  const text = Buffer.from(s, 'base64').toString('utf8');
  const i = text.indexOf(':');
  const type = text.slice(0, i);
  return i > 0 && (namespacedTypes.has(type) || type === 'Namespace') ? { type, rest: text.slice(i + 1) } : undefined;
}

function problems(answer: Answer, op: RandomOperation, user: 'alice' | 'mallory'): string[] {
  const out: string[] = [];
  if (answer.status >= 500) out.push(`HTTP ${answer.status}`);
  for (const e of answer.body.errors ?? []) {
    const code = e.extensions?.code ?? '(none)';
    if (!allowedErrors.some((a) => a.code === code && (!a.message || a.message.test(e.message))))
      out.push(`error ${code}: ${e.message} at ${JSON.stringify(e.path)}`);
  }
  if (answer.status !== 200 && !answer.body.errors?.length) out.push(`HTTP ${answer.status} without errors`);
  out.push(...leaks(answer.body.data, readable[user], op.rootFields));
  return out;
}

describe('random valid operations as hostile tenants', () => {
  for (const user of ['mallory', 'alice'] as const) {
    it(`${user}: ${runsPerUser} operations, each answered without 5xx, internal errors or another namespace's objects`, async () => {
      const arbitrary = randomOperation(schema, pools(), { mutations: true, maxDepth: 9 });
      const seen = { answered: 0, withData: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(arbitrary, async (op) => {
          const answer = await send(op, user);
          seen.answered++;
          if (answer.body.data) seen.withData++;
          else seen.refused++;
          expect(problems(answer, op, user), op.query).toEqual([]);
        }),
        // A seed of each user's own, so the 10,000 cases are 10,000 different operations.
        { numRuns: runsPerUser, seed: Number(process.env.HOSTILE_PROPERTY_SEED ?? 11) + (user === 'alice' ? 1 : 0) },
      );
      // The gateway still answers a plain query, and a third of the operations or more got past the limits to run (the property is not vacuous).
      expect((await gw.gql('{ resourceTypes { name } }', {}, userToken(user))).data.resourceTypes).toHaveLength(8);
      expect(seen.withData, JSON.stringify(seen)).toBeGreaterThan(seen.answered / 3);
    }, 600_000);
  }
});
