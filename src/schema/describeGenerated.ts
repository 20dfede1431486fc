import {
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  isUnionType,
} from 'graphql';

/**
 * Descriptions for what Pothos generates (connections, edges, result unions,
 * success types) and for fields an object inherits from its interfaces, so the
 * SDL documents every type and field (a unit test checks it).
 */
export function describeGenerated(schema: GraphQLSchema): GraphQLSchema {
  const set = (thing: { description?: string | null | undefined }, text: string) => {
    if (!thing.description) thing.description = text;
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const conn = /^(.*)Connection$/.exec(type.name);
    const edge = /^(.*)Edge$/.exec(type.name);
    const success = /^(.*)Success$/.exec(type.name);
    const result = /^(.*)Result$/.exec(type.name);
    if (isObjectType(type) && conn) set(type, `A page of ${conn[1]} objects.`);
    if (isObjectType(type) && edge && type.getFields().cursor) set(type, `A ${edge[1]} and its cursor.`);
    if (isObjectType(type) && success) set(type, `\`${lower(success[1] ?? '')}\` succeeded.`);
    if (isUnionType(type) && result)
      set(type, `What \`${lower(result[1] ?? '')}\` returns: success, or one of the errors listed.`);
    if (type.name === 'PageInfo') set(type, 'Where a page sits in the whole list (Relay).');
    if (type.name === 'Node') set(type, 'An object with a global ID (Relay): `Query.node(id:)` reads it back.');
    if (!(isObjectType(type) || isInterfaceType(type))) continue;
    const inherited = new Map<string, string>();
    for (const i of type.getInterfaces()) {
      for (const f of Object.values(i.getFields())) if (f.description) inherited.set(f.name, f.description);
    }
    for (const field of Object.values(type.getFields()) as (GraphQLField<unknown, unknown> | GraphQLInputField)[]) {
      const text =
        inherited.get(field.name) ??
        {
          id: 'The global ID (Relay).',
          edges: 'The objects of this page.',
          pageInfo: 'Where this page sits in the whole list.',
          cursor: 'Pass as `after` (or `before`) to page on from here.',
          node: 'The object.',
          message: 'What went wrong, for people.',
          hasNextPage: 'Whether objects follow this page.',
          hasPreviousPage: 'Whether objects precede this page.',
          startCursor: 'The cursor of the first object of the page.',
          endCursor: 'The cursor of the last object of the page.',
        }[field.name];
      if (text) set(field, text);
      if (success && ['resource', 'binding', 'data'].includes(field.name))
        set(field, 'The object as Kubernetes stored it (or would, for a dry run).');
      for (const arg of 'args' in field ? field.args : []) {
        const text = argumentDescriptions[`${type.name}.${field.name}(${arg.name})`] ?? argumentDescriptions[arg.name];
        if (text) set(arg, text);
      }
    }
  }
  return schema;
}

/**
 * Arguments the field definitions leave undescribed (Relay's paging arguments, lookups' coordinates, mutations'
 * `input`), by `Type.field(argument)` or else by name. A field that describes its own argument keeps its words.
 */
const argumentDescriptions: Record<string, string> = {
  first: 'Page forward: at most this many objects, from the start or after `after`.',
  after: 'Page forward from this cursor (an edge’s `cursor` or `pageInfo.endCursor`).',
  last: 'Page backward: at most this many objects, from the end or before `before`.',
  before: 'Page backward from this cursor (an edge’s `cursor` or `pageInfo.startCursor`).',
  namespace: 'The Kubernetes namespace.',
  name: 'The Kubernetes name.',
  input: 'What to change; each field is described on the input type.',
  limit: 'At most this many.',
  'Query.namespace(name)': 'The namespace’s name.',
  'Query.resourceGraph(namespace)': 'The namespace to draw.',
  'Query.node(id)': 'A global ID, as an object’s `id` gives it.',
  'Query.nodes(ids)': 'Global IDs, as objects’ `id` give them; the answer keeps their order.',
  'Query.pipelineRuns(status)': 'Only runs in this status.',
  'Query.tasks(namespace)': 'The namespace whose Tasks to list.',
  'Query._entities(representations)':
    'Federation: each a `__typename` and the fields of one of its `@key`s, as the router sends them.',
  'Mutation.patchPipelineResourceParams(resourceVersion)':
    'The `resourceVersion` you read: a resource changed since gets a ConflictError. Without it the patch applies to the current version.',
};

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
