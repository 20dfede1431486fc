import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin, { decodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import { GraphQLError, type GraphQLResolveInfo, isObjectType } from 'graphql';
import type { Context } from '../context.js';
import { absence, notFound } from './absence.js';
import { assumedSize, listBounds, sizedByArgument } from './cost.js';

/** No GraphQL type has this name: it marks an ID that is not a global ID. */
const notAGlobalId = '-';

/**
 * `node` and `nodes`: where no object stands, null with an error at that path saying why (src/schema/absence.ts):
 * NOT_FOUND for an ID that is not a global ID, names no type of node or no object, FORBIDDEN for one the caller may
 * not read. The relay plugin alone would answer a bare null, or fail the whole field on a foreign ID.
 */
async function nodesOf(
  ctx: Context,
  info: GraphQLResolveInfo,
  ids: { typename: string; id: string }[],
): Promise<(unknown | GraphQLError)[]> {
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
  return Promise.all(
    ids.map(async ({ typename, id }, i) => {
      const node = known[i] ? found[next++] : undefined;
      if (node) return node;
      if (!known[i]) return notFound();
      const slash = id.indexOf('/');
      return absence(ctx, typename, id.slice(0, Math.max(slash, 0)), id.slice(slash + 1));
    }),
  );
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
      description:
        'Fetches an object by its global ID; null with an error at `node` when there is none: `NOT_FOUND`, or `FORBIDDEN` when the caller may not read it.',
      resolve: async (_root, args, ctx, info) => {
        const [node] = await nodesOf(ctx, info, [args.id]);
        if (node instanceof GraphQLError) throw node;
        return node;
      },
    },
    nodesQueryOptions: {
      description:
        'Fetches objects by their global IDs, in order; where there is none, null with an error at that index (`NOT_FOUND`, or `FORBIDDEN` when the caller may not read it).',
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
