import { writeFileSync } from 'node:fs';
import { printedSchema, printedSubgraphSchema } from '../src/schema/print.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printedSchema());
writeFileSync(new URL('../schema/subgraph.graphql', import.meta.url), printedSubgraphSchema());
