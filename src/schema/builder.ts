import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';
import type { Context } from '../context.js';
import { assumedSize, listBounds, sizedByArgument } from './cost.js';

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
    nodeQueryOptions: { description: 'Fetches an object by its global ID.' },
    nodesQueryOptions: {
      description: 'Fetches objects by their global IDs, in order; null where none.',
      directives: assumedSize(listBounds.nodes),
      extensions: sizedByArgument('ids'),
    },
  },
});

builder.queryType({ description: 'Reads of resources, pipelines, runs and bindings.' });
builder.mutationType({ description: 'Changes, made in Kubernetes as the caller.' });
builder.subscriptionType({ description: 'Live changes, streamed from Kubernetes watches.' });

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
