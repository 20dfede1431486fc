import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { buildSchema } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { useCompiledExecution } from '../../src/plugins/useCompiledExecution.js';
import { type ExecutionBudget, useExecutionBudget } from '../../src/plugins/useExecutionBudget.js';
import { resourceTypes } from '../../src/resources/catalog.js';
import { schema } from '../../src/schema/index.js';

/** `resourceTypes` resolves from the catalog alone: a schema-only server runs it. */
const query = '{ resourceTypes { name params { name } } }';
const objects = resourceTypes.length + resourceTypes.reduce((n, t) => n + t.params.length, 0);

/** Each way the gateway executes: the budget must count, stop and slice under both. */
const engines = [
  { engine: 'graphql-js', compiled: false },
  { engine: 'compiled (graphql-jit)', compiled: true },
];

/** The plugins as src/yoga.ts places them: the compiler first, the budget after it. */
const budgeted = (compiled: boolean, budget: Partial<ExecutionBudget>, metrics = new GatewayMetrics()): Plugin<Context>[] => [
  ...(compiled ? [useCompiledExecution(metrics, pino({ level: 'silent' })) as Plugin<Context>] : []),
  useExecutionBudget(budget),
];

const compiledRuns = async (metrics: GatewayMetrics) => (await metrics.compiledExecutions.get()).values[0]?.value ?? 0;

const run = async (compiled: boolean, budget: Partial<ExecutionBudget>, metrics?: GatewayMetrics) => {
  // any: the schema's context type is the gateway's; these fields read none of it
  const yoga = createYoga<any>({ schema, plugins: budgeted(compiled, budget, metrics), logging: false });
  const res = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { text: await res.clone().text(), body: (await res.json()) as { data?: unknown; errors?: unknown[] } };
};

describe.each(engines)('useExecutionBudget, $engine', ({ compiled }) => {
  it('lets an operation that stays within both limits answer in full', async () => {
    const metrics = new GatewayMetrics();
    const { body, text } = await run(compiled, { maxObjects: objects, maxResponseBytes: 1_000_000 }, metrics);
    expect(await compiledRuns(metrics)).toBe(compiled ? 1 : 0);
    expect(body.errors).toBeUndefined();
    expect((body.data as { resourceTypes: unknown[] }).resourceTypes).toHaveLength(resourceTypes.length);
    expect(text.length).toBeLessThan(1_000_000);
  });

  it('counts each object once when another plugin replaces the schema with one sharing its types (@defer/@stream)', async () => {
    const yoga = createYoga<any>({
      schema,
      plugins: [useExecutionBudget({ maxObjects: objects }), useDeferStream()],
      logging: false,
    });
    const res = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { data?: { resourceTypes: unknown[] }; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data?.resourceTypes).toHaveLength(resourceTypes.length);
  });

  it('stops an operation past its objects with EXECUTION_BUDGET_EXCEEDED and no data', async () => {
    const { body } = await run(compiled, { maxObjects: objects - 1 });
    expect(body).toEqual({
      errors: [
        {
          message: `The operation resolved more than ${objects - 1} objects and was stopped. Ask for smaller pages or fewer nested lists.`,
          extensions: { code: 'EXECUTION_BUDGET_EXCEEDED', maxObjects: objects - 1 },
        },
      ],
    });
  });

  it('stops an operation whose response passes its bytes with RESPONSE_TOO_LARGE', async () => {
    const { body } = await run(compiled, { maxResponseBytes: 200 });
    expect(body).toEqual({
      errors: [
        {
          message: 'The response passed 200 bytes and was stopped. Ask for smaller pages or fewer fields.',
          extensions: { code: 'RESPONSE_TOO_LARGE', maxResponseBytes: 200 },
        },
      ],
    });
  });
});

describe.each(engines)('useExecutionBudget for subscriptions, $engine', ({ compiled }) => {
  it('gives each event the whole budget: one event past it is stopped, the next answers', async () => {
    const events = buildSchema('type Item { name: String } type Query { ok: Boolean } type Subscription { items: [Item] }');
    const sizes = [3, 10, 3];
    const field = events.getSubscriptionType()?.getFields().items;
    if (!field) throw new Error('no Subscription.items');
    field.subscribe = async function* () {
      for (const n of sizes) yield Array.from({ length: n }, (_, i) => ({ name: `item-${i}` }));
    };
    field.resolve = (payload) => payload;
    const yoga = createYoga({ schema: events, plugins: budgeted(compiled, { maxObjects: 5 }), logging: false });
    const res = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { items { name } }' }),
    });
    const data = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l !== 'data: ')
      .map((l) => JSON.parse(l.slice('data: '.length)));
    const three = { items: [{ name: 'item-0' }, { name: 'item-1' }, { name: 'item-2' }] };
    expect(data).toEqual([
      { data: three },
      {
        errors: [
          {
            message: 'The operation resolved more than 5 objects and was stopped. Ask for smaller pages or fewer nested lists.',
            extensions: { code: 'EXECUTION_BUDGET_EXCEEDED', maxObjects: 5 },
          },
        ],
      },
      { data: three },
    ]);
  });
});

describe.each(engines)('useExecutionBudget slices a long operation, $engine', ({ compiled }) => {
  it('lets the event loop turn after each slice: no turn resolves more than one check interval of fields', async () => {
    const items = buildSchema('type Item { name: String a: Int b: Int } type Query { items: [Item] }');
    const count = 2_000;
    let named = 0;
    const fields = items.getType('Item') as import('graphql').GraphQLObjectType;
    const name = fields.getFields().name;
    if (!name) throw new Error('no Item.name');
    name.resolve = (item: { i: number }) => {
      named++;
      return `item-${item.i}`;
    };
    const query = items.getQueryType()?.getFields().items;
    if (!query) throw new Error('no Query.items');
    query.resolve = () => Array.from({ length: count }, (_, i) => ({ i, a: i, b: -i }));
    // A slice of 0 ms: the operation pauses at every check, so what a turn runs is bounded by the check interval
    // alone, whatever the machine's speed.
    const metrics = new GatewayMetrics();
    const yoga = createYoga({ schema: items, plugins: budgeted(compiled, { sliceMs: 0 }, metrics), logging: false });
    const seen: number[] = [];
    let running = true;
    const tick = () => {
      seen.push(named);
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const res = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ items { name a b } }' }),
    });
    const body = (await res.json()) as { data: { items: { name: string; a: number; b: number }[] } };
    running = false;
    expect(body.data.items).toHaveLength(count);
    expect(body.data.items[1_999]).toEqual({ name: 'item-1999', a: 1_999, b: -1_999 });
    seen.push(named);
    const perTurn = seen.map((n, i) => n - (i ? (seen[i - 1] as number) : 0));
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(32);
    expect(named).toBe(count);
    expect(await compiledRuns(metrics)).toBe(compiled ? 1 : 0);
  });

  it('resolves nothing more once the request is aborted (the client went away)', async () => {
    const items = buildSchema('type Item { name: String } type Query { items: [Item] }');
    const count = 2_000;
    let named = 0;
    const name = (items.getType('Item') as import('graphql').GraphQLObjectType).getFields().name;
    const list = items.getQueryType()?.getFields().items;
    if (!name || !list) throw new Error('no Item.name or Query.items');
    name.resolve = (item: { i: number }) => {
      named++;
      return `item-${item.i}`;
    };
    list.resolve = () => Array.from({ length: count }, (_, i) => ({ i }));
    const yoga = createYoga({ schema: items, plugins: budgeted(compiled, { sliceMs: 0 }), logging: false });
    const client = new AbortController();
    const answer = Promise.resolve(
      yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ items { name } }' }),
        signal: client.signal,
      }),
    )
      .then((res) => res.text())
      .catch((err: Error) => err.name);
    // The first turn resolves one slice (32 fields at a 0 ms slice); the client leaves before the second.
    await new Promise((resolve) => setImmediate(resolve));
    const atAbort = named;
    client.abort();
    expect(await answer).toBe('AbortError');
    // Let every turn the operation would have taken go by: 2,000 fields at 32 a turn is 63 turns.
    for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(atAbort).toBeGreaterThan(0);
    expect(atAbort).toBeLessThanOrEqual(32);
    expect(named).toBe(atAbort);
  });
});
