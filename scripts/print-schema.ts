import { writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema/print.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printedSchema());
