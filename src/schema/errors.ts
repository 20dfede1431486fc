import { ConflictError, ForbiddenError, InUseError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { builder } from './builder.js';
import { assumedSize, listBounds } from './cost.js';
import { PipelineResourceRef, ResourceBindingRef } from './refs.js';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure the caller can act on.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

export const FieldErrorRef = builder.objectRef<{ path: string; message: string }>('FieldError').implement({
  description: 'One problem with an input.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Where the problem is, e.g. `input.params[0].value`.' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; nothing was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({
      type: [FieldErrorRef],
      description: 'Every problem found, each with the path of the input it concerns; never empty.',
      directives: assumedSize(listBounds.report),
      resolve: (e) => e.fieldErrors,
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description:
        'The Kubernetes kind of what is missing, e.g. `PipelineResource`, `Pipeline`, `ResourceBinding`, or `Namespace` when a create targets a namespace that does not exist.',
    }),
    namespace: t.exposeString('namespace', {
      description: 'The namespace it was looked for in; empty when `kind` is `Namespace`.',
    }),
    name: t.string({ description: 'The name that was looked for.', resolve: (e) => e.resourceName }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The object exists already, or changed since it was read; `current` is its state now.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    current: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description:
        'The object as it is now, read again as the caller: compare, then retry with its `resourceVersion`. Null when it could not be read (deleted meanwhile, or not readable by the caller).',
      resolve: (e) => e.current ?? null,
    }),
  }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'Kubernetes RBAC does not allow the caller this change.',
  interfaces: [ErrorInterface],
});

builder.objectType(UnavailableError, {
  name: 'UnavailableError',
  description: 'Kubernetes could not serve the request now (throttled or failing); retrying may succeed.',
  interfaces: [ErrorInterface],
});

builder.objectType(InUseError, {
  name: 'InUseError',
  description: 'The resource is bound to pipelines; delete with `force: true` to delete it all the same.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    bindings: t.field({
      type: [ResourceBindingRef],
      description: 'The ResourceBindings that give the resource to a pipeline (those the caller may read).',
      directives: assumedSize(listBounds.bindingsPerResource),
      resolve: (e) => e.bindings,
    }),
  }),
});
