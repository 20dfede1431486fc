import { isEnumType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

it('every type and field of the schema has a description', () => {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    // `__`: introspection. `_`, `link__…`: federation's own types (`_Service`, `_Entity`, `_Any`, `link__Import`), from @apollo/subgraph.
    if (type.name.startsWith('_') || type.name.endsWith('__Import') || type.name === 'link__Purpose') continue;
    const kind = isObjectType(type) || isInterfaceType(type) || isInputObjectType(type) || isEnumType(type);
    if (kind && !type.description) missing.push(`type ${type.name}`);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description) missing.push(`${type.name}.${field.name}`);
      }
    }
  }
  expect(missing, `undescribed:\n${missing.join('\n')}`).toEqual([]);
});
