import { type GraphQLField, getNamedType, getNullableType, isInterfaceType, isListType, isObjectType, parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { benchQuery } from '../../bench/query.js';
import { fieldCost, operationCost, useQueryLimits } from '../../src/plugins/useQueryLimits.js';
import { resourceTypes } from '../../src/resources/catalog.js';
import { schema } from '../../src/schema/index.js';

const cost = (query: string, variables: Record<string, unknown> = {}) =>
  operationCost(schema, parse(query), undefined, variables);

/** Each expected cost is written out as the sum the rule makes (docs/security.md, "Cost"). */
describe('operationCost', () => {
  const page = (first: string) => `{ pipelineResources${first} { edges { node { name type params { name } } } } }`;
  // connection 1 + n × (edge 1 + node 1 + params 9 × ResourceParam 1: git's 9, the most a type takes); scalars cost 0
  const perResource = 1 + 1 + 9;

  it('weighs a connection’s edges by `first`/`last`, the default page when neither is given', () => {
    expect(cost(page('(first: 1)'))).toBe(1 + 1 * perResource);
    expect(cost(page('(first: 10)'))).toBe(111);
    expect(cost(page('(first: 500)'))).toBe(1 + 500 * perResource);
    expect(cost(page(''))).toBe(1 + 100 * perResource);
    expect(cost(page('(first: 3, last: 5)'))).toBe(1 + 5 * perResource);
  });

  it('weighs a page size in a variable by its value, or the variable’s default', () => {
    const q = (def: string) =>
      `query($n: Int${def}) { pipelineResources(first: $n) { edges { node { name type params { name } } } } }`;
    expect(cost(q(''), { n: 1 })).toBe(1 + perResource);
    expect(cost(q(''), { n: 500 })).toBe(1 + 500 * perResource);
    expect(cost(q(' = 20'))).toBe(1 + 20 * perResource);
    expect(cost(q(''))).toBe(1 + 100 * perResource); // absent: the field's default page
  });

  it('admits the benchmark’s query: 500 resources with params, bindings and pipelines', () => {
    // 1 + 500 × (edge 1 + node 1 + params 9 + bindings 10 + pipelines 10) + pageInfo 1
    expect(cost(benchQuery(['bindings', 'pipelines']), { ns: 'x' })).toBe(15_502);
  });

  it('admits an import report: documents with their problems, notes and resource', () => {
    const q = `mutation { importPipelineResources(yaml: "") { __typename ... on ImportPipelineResourcesSuccess {
      documents { index errors { path } notes { path } resource { name params { name } } } } } }`;
    // mutation 10 + import 10 + 100 documents × (1 + 20 errors + 20 notes + resource 1 + 9 params)
    expect(cost(q)).toBe(10 + 10 + 100 * (1 + 20 + 20 + 1 + 9));
  });

  it('counts only objects: scalars are free, `totalCount` and `pageInfo` are not lists', () => {
    expect(cost('{ pipelineResources(first: 10) { totalCount pageInfo { hasNextPage } } }')).toBe(1 + 0 + 1);
  });

  it('weighs `nodes(ids:)` by its ids, inline or in a variable', () => {
    expect(cost('{ nodes(ids: ["a", "b", "c"]) { id } }')).toBe(3);
    const deep = 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Namespace { pipelineResources { name } } } }';
    // 6,000 × (node 1 + 100 resources × 1)
    expect(cost(deep, { ids: Array.from({ length: 6000 }, () => 'x') })).toBe(606_000);
    expect(cost(deep, { ids: ['x'] })).toBe(101);
  });

  it('weighs `_entities` by its representations', () => {
    const reps = (n: number) => Array.from({ length: n }, () => '{ __typename: "PipelineResource", id: "x" }').join(', ');
    const q = (n: number) => `{ _entities(representations: [${reps(n)}]) { ... on PipelineResource { name labels { key } } } }`;
    expect(cost(q(2))).toBe(2 * (1 + 32));
    expect(cost(q(200))).toBe(200 * (1 + 32));
    const v = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on PipelineResource { name } } }';
    expect(cost(v, { r: Array.from({ length: 1234 }, () => ({ __typename: 'PipelineResource', id: 'x' })) })).toBe(1234);
  });

  it('weighs annotation-derived lists by their caps: the provenance attack of issue 11', () => {
    const q = '{ pipelineRun(namespace: "a", name: "b") { resources { resource { runs { resources { resourceName } } } } } }';
    // run 1 + 64 usages × (usage 1 + resource 1 + 100 runs × (run 1 + 64 usages × 1))
    expect(cost(q)).toBe(1 + 64 * (1 + 1 + 100 * (1 + 64)));
  });

  it('takes a `limit` slicing argument, or its default', () => {
    expect(cost('{ namespace(name: "x") { pipelineRuns(limit: 5) { name } } }')).toBe(1 + 5);
    expect(cost('{ namespace(name: "x") { pipelineRuns { name } } }')).toBe(1 + 20);
  });

  it('adds a field’s `@cost` weight and a mutation’s 10', () => {
    expect(cost('mutation { runPipeline(input: { namespace: "a", pipeline: "b" }) { __typename } }')).toBe(10 + 10);
  });

  it('skips what `@skip`/`@include` leave out, and weighs a fragment at each place it is spread', () => {
    expect(cost('{ pipelineResources(first: 10) @skip(if: true) { totalCount } resourceTypes { name } }')).toBe(
      resourceTypes.length,
    );
    expect(cost('query($on: Boolean!) { resourceTypes @include(if: $on) { name } }', { on: false })).toBe(0);
    const q =
      '{ a: pipelineResources(first: 2) { ...F } b: pipelineResources(first: 3) { ...F } } ' +
      'fragment F on PipelineResourceConnection { edges { node { name } } }';
    expect(cost(q)).toBe(1 + 2 * 2 + (1 + 3 * 2));
  });
});

it('every list field declares what it can return (`@listSize`, or a parent’s `sizedFields`)', () => {
  const sizedByParent = new Set<string>();
  const lists: string[] = [];
  const fieldsOf = Object.values(schema.getTypeMap()).flatMap((t) =>
    (isObjectType(t) || isInterfaceType(t)) && !t.name.startsWith('__')
      ? Object.values(t.getFields()).map((f) => [t.name, f as GraphQLField<unknown, unknown>] as const)
      : [],
  );
  for (const [, f] of fieldsOf) {
    for (const sized of fieldCost(f).listSize?.sizedFields ?? []) sizedByParent.add(`${getNamedType(f.type).name}.${sized}`);
  }
  for (const [type, f] of fieldsOf) {
    if (!isListType(getNullableType(f.type))) continue;
    const c = fieldCost(f);
    if (c.listSize || c.sizedByArgument || sizedByParent.has(`${type}.${f.name}`)) continue;
    lists.push(`${type}.${f.name}`);
  }
  expect(lists).toEqual([]);
});

/** The limits run before any resolver: the schema alone is enough to test them. */
describe('useQueryLimits', () => {
  const yoga = createYoga({ schema, plugins: [...useQueryLimits({ maxCost: 1000 })], maskedErrors: true, logging: false });
  const ask = async (query: string, variables?: unknown) => {
    const res = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { errors?: { message: string; extensions?: { code?: string; cost?: number } }[] };
  };

  it('refuses an operation over the limit with QUERY_TOO_COSTLY and its cost', async () => {
    const r = await ask('{ pipelineResources(first: 500) { edges { node { name type params { name } } } } }');
    expect(r.errors).toEqual([
      {
        message: 'Query too costly: about 5501 objects, over the limit of 1000. Ask for smaller pages or fewer ids.',
        extensions: { code: 'QUERY_TOO_COSTLY', cost: 5501, maxCost: 1000 },
      },
    ]);
  });

  it('refuses `nodes(ids:)` in a variable by its length, and `_entities` the same', async () => {
    const ids = Array.from({ length: 1001 }, () => 'TmFtZXNwYWNlOnRlYW0tYQ==');
    const r = await ask('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(r.errors?.map((e) => [e.extensions?.code, e.extensions?.cost])).toEqual([['QUERY_TOO_COSTLY', 1001]]);
    const reps = Array.from({ length: 1001 }, () => ({ __typename: 'PipelineResource', id: 'x' }));
    const e = await ask('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: reps });
    expect(e.errors?.map((x) => [x.extensions?.code, x.extensions?.cost])).toEqual([['QUERY_TOO_COSTLY', 1001]]);
  });

  it('refuses 6,000 inline ids at parse by default (tokens), and by cost when the token limit is raised', async () => {
    const ids = Array.from({ length: 6000 }, () => '"TmFtZXNwYWNlOnRlYW0tYQ=="').join(',');
    const query = `{ nodes(ids: [${ids}]) { id ... on Namespace { pipelineResources { name } } } }`;
    expect((await ask(query)).errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['GRAPHQL_PARSE_FAILED', 'Syntax Error: Token limit of 3000 exceeded.'],
    ]);
    const roomy = createYoga({ schema, plugins: [...useQueryLimits({ maxTokens: 20_000 })], logging: false });
    const res = await roomy.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { errors?: { extensions?: { code?: string; cost?: number } }[] };
    expect(body.errors?.map((e) => [e.extensions?.code, e.extensions?.cost])).toEqual([['QUERY_TOO_COSTLY', 606_000]]);
  });

  it('refuses a deep operation with QUERY_TOO_DEEP and a wide one with TOO_MANY_ALIASES, each with a stable code', async () => {
    const limited = createYoga({ schema, plugins: [...useQueryLimits({ maxDepth: 3, maxAliases: 2 })], logging: false });
    const codes = async (query: string) => {
      const res = await limited.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      return body.errors?.map((e) => [e.extensions?.code, e.message]);
    };
    expect(await codes('{ resourceTypes { params { name } } pipelineResources { edges { node { name } } } }')).toEqual([
      ['QUERY_TOO_DEEP', 'Syntax Error: Query depth limit of 3 exceeded, found 4.'],
    ]);
    expect(await codes('{ a: resourceTypes { name } b: resourceTypes { name } c: resourceTypes { name } }')).toEqual([
      ['TOO_MANY_ALIASES', 'Syntax Error: Aliases limit of 2 exceeded, found 3.'],
    ]);
    // At the limits, the same shapes run.
    expect(await codes('{ a: resourceTypes { params { name } } b: resourceTypes { name } }')).toBeUndefined();
  });

  it('lets an operation at the limit run', async () => {
    const atLimit = resourceTypes.length * (1 + Math.max(...resourceTypes.map((t) => t.params.length)));
    const exact = createYoga({ schema, plugins: [...useQueryLimits({ maxCost: atLimit })], logging: false });
    const res = await exact.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ resourceTypes { name params { name } } }' }),
    });
    const body = (await res.json()) as { data?: { resourceTypes: unknown[] }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data?.resourceTypes).toHaveLength(resourceTypes.length);
  });
});
