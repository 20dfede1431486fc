import type { Context } from '../context.js';
import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { apiVersion, type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { type BindingEntry, bindingEntries, bindingPipelineName, pipelineBinding } from '../resources/bindings.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { pipelineSlots } from '../resources/tekton.js';
import { dns1123Subdomain } from '../resources/validation.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { assumedSize, connectionSize, listBounds } from './cost.js';
import { KubernetesObjectRef, objectId, PipelineRef, PipelineResourceRef, ResourceBindingRef, splitId } from './refs.js';
import { dryRunOptions, forUpdate, readForWrite, withKubeErrors, writeQuery } from './writes.js';

const BindingEntryRef = builder.objectRef<BindingEntry>('BoundResource').implement({
  description: 'One slot of a pipeline and the resource that fills it.',
  fields: (t) => ({
    slot: t.exposeString('slot', { description: 'The slot, as the pipeline names it.' }),
    resourceName: t.exposeString('resourceName', {
      description: 'The PipelineResource in the slot, in the binding’s namespace (`spec.resources[].resourceRef.name`).',
    }),
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
    pipelineName: t.string({
      description: 'The Pipeline it binds for, in its namespace (`spec.pipelineRef.name`).',
      resolve: bindingPipelineName,
    }),
    pipeline: t.field({
      type: PipelineRef,
      nullable: true,
      description: 'Null when the pipeline does not exist (or the caller may not read it).',
      resolve: (b, _args, ctx) => ctx.loaders.get('Pipeline', b.metadata.namespace ?? '', bindingPipelineName(b)),
    }),
    resources: t.field({
      type: [BindingEntryRef],
      description: 'The filled slots and their resources (`spec.resources`), in stored order.',
      directives: assumedSize(listBounds.slots),
      resolve: bindingEntries,
    }),
  }),
});

builder.queryFields((t) => ({
  resourceBindings: t.connection(
    {
      type: ResourceBindingRef,
      description: 'ResourceBindings, ordered by namespace then name.',
      directives: connectionSize,
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
    {
      name: 'ResourceBindingConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'ResourceBindingEdge' },
  ),
  resourceBinding: t.field({
    type: ResourceBindingRef,
    nullable: true,
    description: 'One ResourceBinding, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.loaders.getNamed('ResourceBinding', args.namespace, args.name),
  }),
}));

const BindInput = builder.inputType('BindResourceInput', {
  description: 'Which resource fills which slot of which pipeline.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'The namespace of the pipeline, the resource and the binding.' }),
    pipeline: t.string({ required: true, description: 'The name of the Pipeline.' }),
    slot: t.string({ required: true, description: 'One of the pipeline’s `slots`.' }),
    resource: t.string({ required: true, description: 'A PipelineResource in the same namespace, of the slot’s type.' }),
  }),
});
const UnbindInput = builder.inputType('UnbindResourceInput', {
  description: 'Which slot of which pipeline to empty.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'The namespace of the pipeline and its binding.' }),
    pipeline: t.string({ required: true, description: 'The name of the Pipeline.' }),
    slot: t.string({
      required: true,
      description: 'The slot to empty; a NotFoundError (kind `ResourceBinding`) when the binding does not fill it.',
    }),
  }),
});

const bindErrors = [ValidationError, NotFoundError, ConflictError, ForbiddenError, UnavailableError];

function checkNames(input: Record<string, string>): void {
  const errors = Object.entries(input)
    .filter(([, v]) => !dns1123Subdomain.test(v) || v.length > 253)
    .map(([k]) => ({ path: `input.${k}`, message: 'must be a DNS-1123 name' }));
  if (errors.length) throw new ValidationError(errors);
}

/**
 * Read, change, write: a binding changed by someone else between the read and
 * the write is read again (up to three times), so concurrent binds of
 * different slots both land.
 */
async function updateBinding(
  ctx: Context,
  namespace: string,
  pipeline: string,
  change: (
    entries: { name: string; resourceRef: { name: string } }[],
  ) => { name: string; resourceRef: { name: string } }[] | null,
  dryRun: boolean | null | undefined,
): Promise<KubeObject> {
  for (let attempt = 0; ; attempt++) {
    const existing = await withKubeErrors(ctx, { kind: 'ResourceBinding', namespace, name: pipeline }, () =>
      pipelineBinding(ctx.kube, namespace, pipeline),
    );
    const entries = bindingEntries(existing ?? { metadata: { name: pipeline } }).map((e) => ({
      name: e.slot,
      resourceRef: { name: e.resourceName },
    }));
    const next = change(entries);
    if (next === null) throw new NotFoundError('ResourceBinding', namespace, pipeline);
    const name = existing?.metadata.name ?? pipeline;
    try {
      return await withKubeErrors(ctx, { kind: 'ResourceBinding', namespace, name }, () =>
        existing
          ? ctx.kube.request<KubeObject>('PUT', resourcePath(kinds.ResourceBinding, namespace, name), {
              body: { ...forUpdate(existing), spec: { ...(existing.spec as object), resources: next } },
              query: writeQuery(dryRun),
            })
          : ctx.kube.request<KubeObject>('POST', resourcePath(kinds.ResourceBinding, namespace), {
              body: {
                apiVersion: apiVersion(kinds.ResourceBinding),
                kind: kinds.ResourceBinding.kind,
                metadata: { name, namespace },
                spec: { pipelineRef: { name: pipeline }, resources: next },
              },
              query: writeQuery(dryRun),
            }),
      );
    } catch (err) {
      if (err instanceof ConflictError && attempt < 3) continue;
      throw err;
    }
  }
}

builder.mutationFields((t) => ({
  bindResource: t.field({
    type: ResourceBindingRef,
    description:
      'Gives a resource to a slot of a pipeline, in the pipeline’s ResourceBinding (created when it has none). ' +
      'The resource’s type must be the slot’s.',
    errors: { types: bindErrors, dataField: { name: 'binding' } },
    args: { input: t.arg({ type: BindInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      checkNames(input);
      const [pipeline, resource] = await Promise.all([
        readForWrite(ctx, 'Pipeline', input.namespace, input.pipeline),
        readForWrite<PipelineResourceObject>(ctx, 'PipelineResource', input.namespace, input.resource),
      ]);
      if (!pipeline) throw new NotFoundError('Pipeline', input.namespace, input.pipeline);
      if (!resource) throw new NotFoundError('PipelineResource', input.namespace, input.resource);
      const slots = pipelineSlots(pipeline);
      const slot = slots.find((s) => s.name === input.slot);
      if (!slot) {
        throw new ValidationError([
          {
            path: 'input.slot',
            message: slots.length
              ? `pipeline ${input.pipeline} has no slot "${input.slot}"; its slots: ${slots.map((s) => s.name).join(', ')}`
              : `pipeline ${input.pipeline} declares no slots (docs/bindings.md)`,
          },
        ]);
      }
      if (resource.spec?.type !== slot.type) {
        throw new ValidationError([
          {
            path: 'input.resource',
            message: `${input.resource} is a ${resource.spec?.type} resource; slot "${slot.name}" takes ${slot.type}`,
          },
        ]);
      }
      return updateBinding(
        ctx,
        input.namespace,
        input.pipeline,
        (entries) => [
          ...entries.filter((e) => e.name !== input.slot),
          { name: input.slot, resourceRef: { name: input.resource } },
        ],
        dryRun,
      );
    },
  }),
  unbindResource: t.field({
    type: ResourceBindingRef,
    description: 'Removes a slot’s resource from the pipeline’s ResourceBinding.',
    errors: { types: bindErrors, dataField: { name: 'binding' } },
    args: { input: t.arg({ type: UnbindInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      checkNames(input);
      return updateBinding(
        ctx,
        input.namespace,
        input.pipeline,
        (entries) => (entries.some((e) => e.name === input.slot) ? entries.filter((e) => e.name !== input.slot) : null),
        dryRun,
      );
    },
  }),
}));
