import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, isUnionType } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

it('every type, field, argument and enum value of the schema has a description', () => {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    // `__`: introspection. `_`, `link__…`: federation's own types (`_Service`, `_Entity`, `_Any`, `link__Import`), from @apollo/subgraph.
    if (type.name.startsWith('_') || type.name.endsWith('__Import') || type.name === 'link__Purpose') continue;
    // Built-in scalars are described by the GraphQL spec.
    const builtIn = isScalarType(type) && ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name);
    if (!builtIn && !type.description) missing.push(`type ${type.name}`);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description) missing.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : []) {
          if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    if (isUnionType(type) && !type.description) missing.push(`union ${type.name}`);
  }
  expect(missing, `undescribed:\n${missing.join('\n')}`).toEqual([]);
});

it('every connection has totalCount, so a client can show "n of m" without paging to the end', () => {
  const connections = Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && t.name.endsWith('Connection'));
  expect(connections.map((t) => t.name).sort()).toEqual([
    'PipelineConnection',
    'PipelineResourceConnection',
    'PipelineRunConnection',
    'ResourceBindingConnection',
    'TaskConnection',
  ]);
  expect(
    connections.filter((t) => isObjectType(t) && String(t.getFields().totalCount?.type) !== 'Int!').map((t) => t.name),
  ).toEqual([]);
});
