import { newestFirst } from '../kube/kinds.js';
import { bindingPipelineName } from '../resources/bindings.js';
import { type PipelineResourceObject, type ShownParam, secrets, shownParams } from '../resources/PipelineResourceObject.js';
import { staleRuns } from '../resources/staleRuns.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { assumedSize, connectionSize, limitSize, listBounds } from './cost.js';
import { pageSize } from './pagination.js';
import {
  KubernetesObjectRef,
  objectId,
  PipelineRef,
  PipelineResourceRef,
  PipelineRunRef,
  ResourceBindingRef,
  splitId,
} from './refs.js';

const ResourceParamRef = builder.objectRef<ShownParam>('ResourceParam').implement({
  description:
    'A param of a resource, as its type defines it. A param the catalog marks secret (legacy Tekton allowed inline `password`, `token`, …) is stored in the object but never shown: its `value` is null, `secret` is true and `set` says whether it has a value.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The param name (`spec.params[].name`), e.g. `url`.' }),
    value: t.exposeString('value', {
      nullable: true,
      description: 'The value, a string that may be empty; null when the param is secret.',
    }),
    secret: t.exposeBoolean('secret', {
      description:
        'Whether the catalog keeps a param of this name secret; its value is then never returned, searched or streamed.',
    }),
    set: t.exposeBoolean('set', { description: 'Whether the value is not empty; for a secret param, all that is told of it.' }),
  }),
});

const SecretRefRef = builder.objectRef<{ fieldName: string; secretName: string; secretKey: string }>('SecretRef').implement({
  description: 'Where a secret param comes from. Only the reference: the value never leaves the cluster.',
  fields: (t) => ({
    fieldName: t.exposeString('fieldName', { description: 'The param it provides, e.g. `authToken`.' }),
    secretName: t.exposeString('secretName', { description: 'The Secret, in the resource namespace.' }),
    secretKey: t.exposeString('secretKey', { description: 'The key within the Secret.' }),
  }),
});

builder.node(PipelineResourceRef, {
  description: 'A typed, shareable input of pipelines (tekton.dev/v1alpha1 PipelineResource).',
  interfaces: [KubernetesObjectRef],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('PipelineResource', ...splitId(id)) as Promise<PipelineResourceObject | null>,
  fields: (t) => ({
    type: t.string({
      description: 'The resource type, e.g. `git`; see `resourceTypes`.',
      resolve: (o) => String(o.spec?.type ?? ''),
    }),
    description: t.string({
      nullable: true,
      description: 'Free text from `spec.description`; null when none.',
      resolve: (o) => o.spec?.description ?? null,
    }),
    params: t.field({
      type: [ResourceParamRef],
      description:
        'Its params (`spec.params`), in stored order; a secret one given inline (legacy) without its value. Secret references are in `secrets`.',
      directives: assumedSize(listBounds.resourceParams),
      resolve: (o) => shownParams(o),
    }),
    secrets: t.field({
      type: [SecretRefRef],
      description: 'Where its secret params come from (`spec.secrets`): Secret references, never values.',
      directives: assumedSize(listBounds.resourceSecrets),
      resolve: (o) => secrets(o),
    }),
    bindings: t.field({
      type: [ResourceBindingRef],
      description: 'The bindings that give this resource to a pipeline.',
      directives: assumedSize(listBounds.bindingsPerResource),
      resolve: (o, _args, ctx) => ctx.loaders.byIndex('ResourceBinding', 'byResource', objectId(o)),
    }),
    pipelines: t.field({
      type: [PipelineRef],
      description: 'The pipelines bound to this resource: who is affected by a change to it.',
      directives: assumedSize(listBounds.bindingsPerResource),
      resolve: async (o, _args, ctx) => {
        const bindings = await ctx.loaders.byIndex('ResourceBinding', 'byResource', objectId(o));
        return ctx.loaders.getMany('Pipeline', o.metadata.namespace ?? '', bindings.map(bindingPipelineName));
      },
    }),
    runs: t.field({
      type: [PipelineRunRef],
      description: 'Runs that recorded using this resource, newest first.',
      directives: assumedSize(listBounds.runsPerResource),
      resolve: async (o, _args, ctx) =>
        (await ctx.loaders.byIndex('PipelineRun', 'byResource', objectId(o))).toSorted(newestFirst),
    }),
  }),
});

builder.objectField(PipelineResourceRef, 'staleRuns', (t) =>
  t.field({
    type: [PipelineRunRef],
    description:
      'Runs that used an older version of this resource (their recorded resourceVersion is not the current one) and are ' +
      'unfinished (PENDING or RUNNING) or were created within the last `withinHours`; newest first.',
    directives: limitSize,
    args: {
      limit: t.arg.int({ required: false, defaultValue: 20, description: `At most ${pageSize.max}.` }),
      withinHours: t.arg.int({
        required: false,
        defaultValue: 24,
        description: 'How far back finished runs count, in hours; unfinished runs always count.',
      }),
      changedParamsOnly: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Only runs whose resolved params differ from the resource’s now (a label change alone does not count).',
      }),
    },
    resolve: async (o, args, ctx) =>
      staleRuns(await ctx.loaders.byIndex('PipelineRun', 'byResource', objectId(o)), o, {
        limit: Math.min(args.limit ?? 20, pageSize.max),
        withinHours: args.withinHours ?? 24,
        changedParamsOnly: !!args.changedParamsOnly,
        now: Date.now(),
      }),
  }),
);

builder.queryFields((t) => ({
  pipelineResources: t.connection(
    {
      type: PipelineResourceRef,
      description: 'PipelineResources, ordered by namespace then name.',
      directives: connectionSize,
      args: {
        namespace: t.arg.string({ required: false, description: listArgsDescriptions.namespace }),
        type: t.arg.string({ required: false, description: 'Only this resource type.' }),
        labelSelector: t.arg.string({ required: false, description: listArgsDescriptions.labelSelector }),
        search: t.arg.string({
          required: false,
          description: 'Case-insensitive text in the name, description or param values; secret params are not searched.',
        }),
      },
      resolve: (_root, args, ctx) =>
        listConnection<PipelineResourceObject>(ctx, 'PipelineResource', args, {
          filter: (o) => !args.type || o.spec?.type === args.type,
          text: (o) => [o.spec?.description ?? '', ...shownParams(o).flatMap((p) => (p.value === null ? [] : [p.value]))],
        }),
    },
    {
      name: 'PipelineResourceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'PipelineResourceEdge' },
  ),
  pipelineResource: t.field({
    type: PipelineResourceRef,
    nullable: true,
    description: 'One PipelineResource, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.loaders.getNamed('PipelineResource', args.namespace, args.name) as Promise<PipelineResourceObject | null>,
  }),
}));
