import { createYoga } from 'graphql-yoga';
import { expect, it } from 'vitest';
import { useQueryLimits } from '../../src/plugins/useQueryLimits.js';
import { schema } from '../../src/schema/index.js';

/** The limits run at parse and validation, before any resolver: the schema alone is enough to test them. */
const yoga = createYoga({ schema, plugins: [...useQueryLimits({ maxCost: 1000 })], maskedErrors: true, logging: false });
const ask = async (query: string, variables?: unknown) => {
  const res = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
};
const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

it('weighs a connection’s fields by the page it asks for', async () => {
  const q = (first: number) => `{ pipelineResources(first: ${first}) { edges { node { name type params { name } } } } }`;
  expect(code(await ask(q(100)))).not.toBe('QUERY_TOO_COSTLY');
  expect(code(await ask(q(500)))).toBe('QUERY_TOO_COSTLY');
});

it('assumes the largest page when the size comes in a variable', async () => {
  const r = await ask('query($n: Int) { pipelineResources(first: $n) { edges { node { name type params { name } } } } }', {
    n: 1,
  });
  expect(code(r)).toBe('QUERY_TOO_COSTLY');
});

it('weighs federation entity batches by their representations', async () => {
  const fields = '... on PipelineResource { name type params { name } labels { key } }';
  const literal = (n: number) =>
    `{ _entities(representations: [${Array.from({ length: n }, () => '{ __typename: "PipelineResource", id: "x" }').join(',')}]) { ${fields} } }`;
  expect(code(await ask(literal(10)))).not.toBe('QUERY_TOO_COSTLY');
  expect(code(await ask(literal(200)))).toBe('QUERY_TOO_COSTLY');
  expect(code(await ask(`query($r: [_Any!]!) { _entities(representations: $r) { ${fields} } }`, { r: [] }))).toBe(
    'QUERY_TOO_COSTLY',
  );
});
