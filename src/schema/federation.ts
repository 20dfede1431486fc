import { printSubgraphSchema } from '@apollo/subgraph';
import { decodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import { type GraphQLSchema, isInterfaceType, isObjectType, isUnionType, Kind, type StringValueNode } from 'graphql';
import type { Context } from '../context.js';
import type { KindName, KubeObject } from '../kube/kinds.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { absence, notFound } from './absence.js';
import { builder } from './builder.js';
import { sizedByArgument } from './cost.js';
import { NamespaceRef, PipelineRef, PipelineResourceRef, PipelineRunRef, ResourceBindingRef, splitId } from './refs.js';

/**
 * Apollo Federation v2 entities (docs/federation.md): other subgraphs may
 * reference these types by key and add fields to them. The router sends
 * representations to `Query._entities`; each is read through the request's
 * loaders, like any other field, so they are authorized per caller and a batch
 * costs no more Kubernetes requests than one.
 */

const byId = builder.selection<{ id: string }>('id');
const byCoordinates = builder.selection<{ namespace: string; name: string }>('namespace name');
const kubeKeys = [byId, byCoordinates];

type KubeRepresentation = { id: string } | { namespace: string; name: string };

/** `[namespace, name]` of a representation, or null when its global ID is not one of `typename`. */
function coordinates(typename: string, rep: KubeRepresentation): [namespace: string, name: string] | null {
  if ('id' in rep) {
    const decoded = decodeGlobalIDOrNull(rep.id);
    return decoded?.typename === typename ? splitId(decoded.id) : null;
  }
  return [rep.namespace, rep.name];
}

function decodeGlobalIDOrNull(id: string): { typename: string; id: string } | null {
  try {
    return decodeGlobalID(id);
  } catch {
    return null; // not a global ID: no such entity
  }
}

/** The entity a representation names; throws NOT_FOUND or FORBIDDEN (src/schema/absence.ts) where there is none. */
async function loadEntity(kind: KindName, rep: KubeRepresentation, ctx: Context): Promise<KubeObject> {
  const at = coordinates(kind, rep);
  if (!at) throw notFound(`The id names no ${kind}.`);
  const found = await ctx.loaders.get(kind, ...at);
  if (!found) throw await absence(ctx, kind, ...at);
  // A copy: @apollo/subgraph defines `__typename` on what it gets, and this one is the shared cache's object.
  return { ...found };
}

builder.asEntity(PipelineResourceRef, {
  key: kubeKeys,
  resolveReference: (rep, ctx) => loadEntity('PipelineResource', rep, ctx) as Promise<PipelineResourceObject>,
});
builder.asEntity(PipelineRef, { key: kubeKeys, resolveReference: (rep, ctx) => loadEntity('Pipeline', rep, ctx) });
builder.asEntity(PipelineRunRef, { key: kubeKeys, resolveReference: (rep, ctx) => loadEntity('PipelineRun', rep, ctx) });
builder.asEntity(ResourceBindingRef, {
  key: kubeKeys,
  resolveReference: (rep, ctx) => loadEntity('ResourceBinding', rep, ctx),
});

/**
 * A Namespace resolves as `Query.node` would: relay's `resolveNodes` finds the
 * node type by its name and calls its `loadOne` (src/schema/namespace.ts), which
 * answers null for a namespace the caller sees nothing in.
 */

builder.asEntity(NamespaceRef, {
  key: [byId, builder.selection<{ name: string }>('name')],
  resolveReference: async (rep, ctx, info) => {
    const name = 'id' in rep ? decodeGlobalIDOrNull(rep.id) : { typename: 'Namespace', id: rep.name };
    if (name?.typename !== 'Namespace') throw notFound('The id names no Namespace.');
    const [found] = await resolveNodes(builder, ctx, info, [{ typename: 'Namespace', id: name.id }]);
    if (!found) throw await absence(ctx, 'Namespace', '', name.id);
    return found as { name: string };
  },
});

/**
 * The served schema: the API plus federation's `Query._entities` and
 * `Query._service`. `finish` completes it (descriptions) before its SDL is
 * taken, so `_service { sdl }` is exactly schema/subgraph.graphql.
 */
export function toSubgraphSchema(finish: (schema: GraphQLSchema) => GraphQLSchema): GraphQLSchema {
  const schema = finish(
    // v2.9 brings the demand-control directives: routers read the same list sizes as src/plugins/useQueryLimits.ts.
    builder.toSubGraphSchema({
      linkUrl: 'https://specs.apollo.dev/federation/v2.9',
      federationDirectives: ['@key', '@cost', '@listSize'],
    }),
  );
  syncAstDescriptions(schema);
  const fields = schema.getQueryType()?.getFields() ?? {};
  const entities = fields._entities;
  const entityUnion = schema.getType('_Entity');
  if (entities && isUnionType(entityUnion)) {
    entities.description =
      'Federation: the entities these representations (`__typename` and a key) name, in order; where there is none, null with an error at that index (`NOT_FOUND`, or `FORBIDDEN` when the caller may not read it).';
    // @apollo/subgraph fails the whole field for a `__typename` that is no entity (an internal error, or an
    // untyped one naming the schema's types); such a representation names nothing: NOT_FOUND at its index alone.
    const entityTypes = new Set(entityUnion.getTypes().map((t) => t.name));
    const resolveEntities = entities.resolve;
    entities.resolve = async (source, args: { representations: unknown[] }, ctx, info) => {
      const known = args.representations.map(
        (r) => typeof r === 'object' && r !== null && entityTypes.has(String((r as { __typename?: unknown }).__typename)),
      );
      const found = (await resolveEntities?.(
        source,
        { ...args, representations: args.representations.filter((_, i) => known[i]) },
        ctx,
        info,
      )) as unknown[];
      let next = 0;
      return known.map((k) => (k ? found[next++] : notFound('The __typename names no entity of this subgraph.')));
    };
    // One entity per representation: the cost rule weighs it by their number (src/schema/cost.ts).
    entities.extensions = { ...entities.extensions, ...sizedByArgument('representations') };
  }
  if (fields._service) {
    const sdl = printSubgraphSchema(schema);
    fields._service.description = 'Federation: this subgraph’s SDL, with its `@key` directives, for a router to compose.';
    fields._service.resolve = () => ({ sdl });
  }
  return schema;
}

/**
 * `printSubgraphSchema` prints a type from its AST node, which the directives
 * plugin made when Pothos built the schema, before `finish` described what
 * Pothos generates; copy those descriptions into the nodes.
 */
function syncAstDescriptions(schema: GraphQLSchema): void {
  const described = <T extends { readonly description?: StringValueNode | undefined }>(
    node: T,
    text: string | null | undefined,
  ): T => (text && node.description?.value !== text ? { ...node, description: { kind: Kind.STRING, value: text } } : node);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!type.astNode) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = type.getFields();
      const node = type.astNode;
      const synced = { ...node, fields: node.fields?.map((f) => described(f, fields[f.name.value]?.description)) };
      type.astNode = described(synced, type.description) as typeof node;
    } else {
      type.astNode = described(type.astNode, type.description) as typeof type.astNode;
    }
  }
}
