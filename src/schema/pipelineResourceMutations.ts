import type { Context } from '../context.js';
import {
  ConflictError,
  ForbiddenError,
  InUseError,
  NotFoundError,
  retryOnConflict,
  UnavailableError,
  ValidationError,
} from '../errors.js';
import { type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { bindingEntries, bindingPipelineName } from '../resources/bindings.js';
import { type PipelineResourceObject, toInput, toPipelineResource } from '../resources/PipelineResourceObject.js';
import { pipelineSlots } from '../resources/tekton.js';
import { type FieldError, type PipelineResourceInput, validatePipelineResourceInput } from '../resources/validation.js';
import { builder } from './builder.js';
import { objectId, PipelineResourceRef } from './refs.js';
import { dryRunOptions, forUpdate, readForWrite, withKubeErrors, writeQuery } from './writes.js';

export const ParamInput = builder.inputType('ResourceParamInput', {
  description: 'A plain param of a resource.',
  fields: (t) => ({
    name: t.string({
      required: true,
      description: 'One of the non-secret `params` of the resource type; each name at most once.',
    }),
    value: t.string({ required: true, description: 'The value, at most 4096 characters; may be empty.' }),
  }),
});
export const SecretRefInput = builder.inputType('SecretRefInput', {
  description: 'Where a secret param comes from: a key of a Secret. The value itself never passes through the gateway.',
  fields: (t) => ({
    fieldName: t.string({
      required: true,
      description: 'The secret param it provides, one of the type’s `params` with `secret: true`, e.g. `authToken`.',
    }),
    secretName: t.string({ required: true, description: 'The Secret, in the resource’s namespace (a DNS-1123 name).' }),
    secretKey: t.string({ required: true, description: 'The key within the Secret.' }),
  }),
});
export const LabelInput = builder.inputType('LabelInput', {
  description: 'A Kubernetes label.',
  fields: (t) => ({
    key: t.string({
      required: true,
      description: 'The key, with its optional DNS prefix (`example.com/team`); each key at most once.',
    }),
    value: t.string({ required: true, description: 'The value, at most 63 characters; may be empty.' }),
  }),
});
const CreateInput = builder.inputType('CreatePipelineResourceInput', {
  description: 'A new PipelineResource.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'An existing namespace; a NotFoundError (kind `Namespace`) otherwise.' }),
    name: t.string({
      required: true,
      description: 'A DNS-1123 subdomain of at most 253 characters, not yet used by a PipelineResource of the namespace.',
    }),
    type: t.string({ required: true, description: 'One of `resourceTypes`.' }),
    description: t.string({ required: false, description: 'Free text, at most 1024 characters.' }),
    params: t.field({
      type: [ParamInput],
      required: false,
      description: 'Its plain params (at most 64); every `required` param of the type must have a non-blank value.',
    }),
    secrets: t.field({
      type: [SecretRefInput],
      required: false,
      description: 'Where its secret params come from (at most 32).',
    }),
    labels: t.field({ type: [LabelInput], required: false, description: 'Kubernetes labels (at most 64).' }),
  }),
});
const UpdateInput = builder.inputType('UpdatePipelineResourceInput', {
  description: 'Fields left out keep their current value; fields given replace it whole.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'The namespace of the resource to change.' }),
    name: t.string({ required: true, description: 'The name of the resource to change; names cannot change.' }),
    resourceVersion: t.string({
      required: true,
      description: 'The version the change is based on; a stale one gets a ConflictError.',
    }),
    type: t.string({
      required: false,
      description: 'A new resource type, one of `resourceTypes`; it must be the type of every slot the resource is bound to.',
    }),
    description: t.string({
      required: false,
      description: 'Replaces the description (at most 1024 characters); null removes it.',
    }),
    params: t.field({
      type: [ParamInput],
      required: false,
      description: 'Replaces all plain params; null keeps them. To change single params, see `patchPipelineResourceParams`.',
    }),
    secrets: t.field({
      type: [SecretRefInput],
      required: false,
      description: 'Replaces all secret references; null keeps them.',
    }),
    labels: t.field({
      type: [LabelInput],
      required: false,
      description: 'Replaces all labels; null keeps them, an empty list removes them.',
    }),
  }),
});

const writeErrors = [ValidationError, ConflictError, NotFoundError, ForbiddenError, UnavailableError];

function validated(input: unknown): PipelineResourceInput {
  const checked = validatePipelineResourceInput(input);
  if (!checked.ok) throw new ValidationError(checked.errors);
  return checked.value;
}

/** A type change must still fit every slot the resource is bound to. */
async function checkBoundSlots(ctx: Context, current: PipelineResourceObject, newType: string): Promise<FieldError[]> {
  if (newType === current.spec?.type) return [];
  const errors: FieldError[] = [];
  for (const binding of await ctx.loaders.byIndex('ResourceBinding', 'byResource', objectId(current))) {
    const pipeline = await ctx.loaders.get('Pipeline', binding.metadata.namespace ?? '', bindingPipelineName(binding));
    if (!pipeline) continue;
    for (const entry of bindingEntries(binding).filter((e) => e.resourceName === current.metadata.name)) {
      const slot = pipelineSlots(pipeline).find((s) => s.name === entry.slot);
      if (slot && slot.type !== newType) {
        errors.push({
          path: 'input.type',
          message: `bound to slot "${slot.name}" of pipeline ${pipeline.metadata.name}, which takes ${slot.type}; unbind it first`,
        });
      }
    }
  }
  return errors;
}

async function mustRead(ctx: Context, namespace: string, name: string): Promise<PipelineResourceObject> {
  const current = await readForWrite<PipelineResourceObject>(ctx, 'PipelineResource', namespace, name);
  if (!current) throw new NotFoundError('PipelineResource', namespace, name);
  return current;
}

/** PUTs the validated input over `current`, keeping what the input does not describe (annotations, status). */
function replace(
  ctx: Context,
  current: PipelineResourceObject,
  v: PipelineResourceInput,
  resourceVersion: string,
  dryRun: boolean | null | undefined,
) {
  const next = toPipelineResource(v);
  const body: PipelineResourceObject = {
    ...forUpdate(current),
    metadata: { ...forUpdate(current).metadata, labels: next.metadata.labels ?? {}, resourceVersion },
    spec: next.spec,
  };
  const target = { kind: 'PipelineResource' as const, namespace: v.namespace, name: v.name };
  return withKubeErrors(ctx, target, () =>
    ctx.kube.request<PipelineResourceObject>('PUT', resourcePath(kinds.PipelineResource, v.namespace, v.name), {
      body,
      query: writeQuery(dryRun),
    }),
  );
}

builder.mutationFields((t) => ({
  createPipelineResource: t.field({
    type: PipelineResourceRef,
    description: 'Creates a PipelineResource as the caller. Validates everything first; on any error nothing is written.',
    errors: { types: writeErrors, dataField: { name: 'resource' } },
    args: { input: t.arg({ type: CreateInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      const v = validated(input);
      return withKubeErrors(
        ctx,
        {
          kind: 'PipelineResource',
          namespace: v.namespace,
          name: v.name,
          notFound: { kind: 'Namespace', namespace: '', name: v.namespace },
        },
        () =>
          ctx.kube.request<PipelineResourceObject>('POST', resourcePath(kinds.PipelineResource, v.namespace), {
            body: toPipelineResource(v),
            query: writeQuery(dryRun),
          }),
      );
    },
  }),

  updatePipelineResource: t.field({
    type: PipelineResourceRef,
    description:
      'Changes a PipelineResource as the caller, if it is still at `resourceVersion` (else a ConflictError carries the current one). ' +
      'A type change that no longer fits a bound slot is refused.',
    errors: { types: writeErrors, dataField: { name: 'resource' } },
    args: { input: t.arg({ type: UpdateInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      const current = await mustRead(ctx, input.namespace, input.name);
      const base = toInput(current);
      const v = validated({
        ...base,
        type: input.type ?? base.type,
        description: input.description === undefined ? base.description : input.description,
        params: input.params ?? base.params,
        secrets: input.secrets ?? base.secrets,
        labels: input.labels ?? base.labels,
      });
      const slotErrors = await checkBoundSlots(ctx, current, v.type);
      if (slotErrors.length) throw new ValidationError(slotErrors);
      return replace(ctx, current, v, input.resourceVersion, dryRun);
    },
  }),

  patchPipelineResourceParams: t.field({
    type: PipelineResourceRef,
    description:
      'Sets or removes single params, leaving the others as they are. Without `resourceVersion` it applies to the current ' +
      'version (retrying a lost race); with one, a stale version gets a ConflictError.',
    errors: { types: writeErrors, dataField: { name: 'resource' } },
    args: {
      namespace: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      set: t.arg({ type: [ParamInput], required: false, description: 'Params to add or change.' }),
      remove: t.arg.stringList({ required: false, description: 'Names of params to remove.' }),
      resourceVersion: t.arg.string({ required: false }),
      dryRun: t.arg.boolean(dryRunOptions),
    },
    resolve: (_root, args, ctx) =>
      // With a resourceVersion the caller asked for that version: a conflict is theirs to see.
      retryOnConflict(
        async () => {
          const current = await mustRead(ctx, args.namespace, args.name);
          const base = toInput(current);
          const removed = new Set(args.remove ?? []);
          const unknown = [...removed].filter((n) => !base.params?.some((p) => p.name === n));
          if (unknown.length) {
            throw new ValidationError(unknown.map((n) => ({ path: 'remove', message: `no param "${n}" to remove` })));
          }
          const params = (base.params ?? []).filter((p) => !removed.has(p.name));
          for (const p of args.set ?? []) {
            const i = params.findIndex((x) => x.name === p.name);
            if (i >= 0) params[i] = p;
            else params.push(p);
          }
          const v = validated({ ...base, params });
          return replace(ctx, current, v, args.resourceVersion ?? current.metadata.resourceVersion ?? '', args.dryRun);
        },
        args.resourceVersion ? 0 : 3,
      ),
  }),

  deletePipelineResource: t.field({
    type: PipelineResourceRef,
    description: 'Deletes a PipelineResource as the caller. Refuses with InUseError while bindings use it, unless `force`.',
    errors: {
      types: [InUseError, NotFoundError, ConflictError, ForbiddenError, UnavailableError, ValidationError],
      dataField: { name: 'resource' },
    },
    args: {
      namespace: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      force: t.arg.boolean({ required: false, defaultValue: false, description: 'Delete even while bindings use it.' }),
      resourceVersion: t.arg.string({ required: false, description: 'Delete only if still at this version.' }),
      dryRun: t.arg.boolean(dryRunOptions),
    },
    resolve: async (_root, args, ctx) => {
      const current = await mustRead(ctx, args.namespace, args.name);
      if (!args.force) {
        const bindings: readonly KubeObject[] = await ctx.loaders.byIndex('ResourceBinding', 'byResource', objectId(current));
        if (bindings.length) {
          throw new InUseError(
            `PipelineResource ${args.namespace}/${args.name} is bound by ${bindings.map((b) => b.metadata.name).join(', ')}`,
            bindings,
          );
        }
      }
      await withKubeErrors(ctx, { kind: 'PipelineResource', namespace: args.namespace, name: args.name }, () =>
        ctx.kube.request('DELETE', resourcePath(kinds.PipelineResource, args.namespace, args.name), {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(args.resourceVersion ? { preconditions: { resourceVersion: args.resourceVersion } } : {}),
            // With a body, the apiserver ignores query parameters: dryRun must ride in it.
            ...(args.dryRun ? { dryRun: ['All'] } : {}),
          },
        }),
      );
      return current;
    },
  }),
}));
