import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin, { decodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import { type GraphQLResolveInfo, isObjectType } from 'graphql';
import type { Context } from '../context.js';
import { assumedSize, listBounds, sizedByArgument } from './cost.js';

/** No GraphQL type has this name: it marks an ID that is not a global ID. */
const notAGlobalId = '-';

/**
 * `node` and `nodes`: an ID that is not a global ID, or names no type of node,
 * names nothing, so it is null where it stands, as a missing object is (the
 * relay plugin would fail the whole field with an untyped error).
 */
async function nodesOf(ctx: Context, info: GraphQLResolveInfo, ids: { typename: string; id: string }[]): Promise<unknown[]> {
  const isNode = (typename: string) => {
    const type = info.schema.getType(typename);
    return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
  };
  const known = ids.map((i) => isNode(i.typename));
  const found = await resolveNodes(
    builder,
    ctx,
    info,
    ids.filter((_, i) => known[i]),
  );
  let next = 0;
  return known.map((k) => (k ? (found[next++] ?? null) : null));
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: string; Output: string };
    ID: { Input: string; Output: string };
  };
  // The IBM cost directives, as Apollo Federation v2.9 imports them (src/schema/cost.ts, docs/security.md).
  Directives: {
    cost: { locations: 'FIELD_DEFINITION' | 'OBJECT'; args: { weight: number } };
    listSize: {
      locations: 'FIELD_DEFINITION';
      args: {
        assumedSize?: number;
        slicingArguments?: string[];
        sizedFields?: string[];
        requireOneSlicingArgument?: boolean;
      };
    };
  };
}>({
  // Federation needs directives before it, and comes after plugins that wrap resolvers.
  plugins: [DirectivesPlugin, ErrorsPlugin, RelayPlugin, FederationPlugin],
  defaultFieldNullability: false,
  errors: {
    defaultTypes: [],
    // createPipelineResource → CreatePipelineResourceResult = CreatePipelineResourceSuccess | …Error
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Success` },
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    decodeGlobalID: (id) => {
      try {
        return decodeGlobalID(id);
      } catch {
        return { typename: notAGlobalId, id };
      }
    },
    nodeQueryOptions: {
      description: 'Fetches an object by its global ID.',
      resolve: async (_root, args, ctx, info) => (await nodesOf(ctx, info, [args.id]))[0] ?? null,
    },
    nodesQueryOptions: {
      description: 'Fetches objects by their global IDs, in order; null where none.',
      directives: assumedSize(listBounds.nodes),
      extensions: sizedByArgument('ids'),
      resolve: (_root, args, ctx, info) => nodesOf(ctx, info, args.ids),
    },
  },
});

builder.queryType({ description: 'Reads of resources, pipelines, runs and bindings.' });
builder.mutationType({ description: 'Changes, made in Kubernetes as the caller.' });
builder.subscriptionType({ description: 'Live changes, streamed from Kubernetes watches.' });

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
