import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { printedSchema, printedSubgraphSchema } from '../../src/schema/print.js';

it('schema/schema.graphql is the printed schema (run `npm run schema:print`)', () => {
  const committed = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
  expect(committed).toBe(printedSchema());
});

it('schema/subgraph.graphql is the printed federation SDL (run `npm run schema:print`)', () => {
  const committed = readFileSync(new URL('../../schema/subgraph.graphql', import.meta.url), 'utf8');
  expect(committed).toBe(printedSubgraphSchema());
});
