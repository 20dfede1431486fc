import { requireAllowed } from '../auth/guards.js';
import { type KubeObject, kinds } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { KubernetesObjectRef, objectId, PipelineRef, PipelineResourceRef, ResourceBindingRef, splitId } from './refs.js';

interface BindingEntry {
  namespace: string;
  slot: string;
  resourceName: string;
}

export function bindingEntries(b: KubeObject): BindingEntry[] {
  return arr(b, 'spec', 'resources').map((r) => ({
    namespace: b.metadata.namespace ?? '',
    slot: str(r, 'name') ?? '',
    resourceName: str(r, 'resourceRef', 'name') ?? '',
  }));
}

export const bindingPipelineName = (b: KubeObject) => str(b, 'spec', 'pipelineRef', 'name') ?? '';

const BindingEntryRef = builder.objectRef<BindingEntry>('BoundResource').implement({
  description: 'One slot of a pipeline and the resource that fills it.',
  fields: (t) => ({
    slot: t.exposeString('slot', { description: 'The slot, as the pipeline names it.' }),
    resourceName: t.exposeString('resourceName'),
    resource: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description: 'Null when the resource does not exist (or the caller may not read it).',
      resolve: (e, _args, ctx) =>
        ctx.loaders.get('PipelineResource', e.namespace, e.resourceName) as Promise<PipelineResourceObject | null>,
    }),
  }),
});

builder.node(ResourceBindingRef, {
  description: 'The default resources of one Tekton Pipeline (resources.tekton.dev/v1alpha1 ResourceBinding).',
  interfaces: [KubernetesObjectRef],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('ResourceBinding', ...splitId(id)),
  fields: (t) => ({
    pipelineName: t.string({ resolve: bindingPipelineName }),
    pipeline: t.field({
      type: PipelineRef,
      nullable: true,
      description: 'Null when the pipeline does not exist (or the caller may not read it).',
      resolve: (b, _args, ctx) => ctx.loaders.get('Pipeline', b.metadata.namespace ?? '', bindingPipelineName(b)),
    }),
    resources: t.field({ type: [BindingEntryRef], resolve: bindingEntries }),
  }),
});

builder.queryFields((t) => ({
  resourceBindings: t.connection(
    {
      type: ResourceBindingRef,
      description: 'ResourceBindings, ordered by namespace then name.',
      args: {
        namespace: t.arg.string({ required: false, description: listArgsDescriptions.namespace }),
        labelSelector: t.arg.string({ required: false, description: listArgsDescriptions.labelSelector }),
        search: t.arg.string({ required: false, description: listArgsDescriptions.search }),
        pipeline: t.arg.string({ required: false, description: 'Only the bindings of this pipeline.' }),
        resource: t.arg.string({ required: false, description: 'Only the bindings that use this resource.' }),
      },
      resolve: (_root, args, ctx) =>
        listConnection(ctx, 'ResourceBinding', args, {
          filter: (b) =>
            (!args.pipeline || bindingPipelineName(b) === args.pipeline) &&
            (!args.resource || bindingEntries(b).some((e) => e.resourceName === args.resource)),
        }),
    },
    { name: 'ResourceBindingConnection' },
    { name: 'ResourceBindingEdge' },
  ),
  resourceBinding: t.field({
    type: ResourceBindingRef,
    nullable: true,
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await requireAllowed(ctx, 'get', kinds.ResourceBinding, args.namespace);
      return ctx.loaders.get('ResourceBinding', args.namespace, args.name);
    },
  }),
}));
