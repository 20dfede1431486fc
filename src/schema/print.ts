import { printSubgraphSchema } from '@apollo/subgraph';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.js';

/**
 * The SDL as committed in schema/schema.graphql: sorted, so diffs show real
 * changes only. It is the served schema as introspection sees it, so it
 * includes federation's `_entities` and `_service` (and `_Any`, `_Entity`,
 * `_Service`), but no directives.
 */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

/**
 * The federation SDL as committed in schema/subgraph.graphql, the same text as
 * `_service { sdl }`: with `@link` and `@key`, without the federation types and
 * fields, which a router adds itself. What composition (rover, @apollo/composition) takes.
 */
export function printedSubgraphSchema(): string {
  return `${printSubgraphSchema(schema)}\n`;
}
