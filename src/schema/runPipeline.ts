import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import type { KubeObject } from '../kube/kinds.js';
import { createRun, planRun } from '../resources/runPlan.js';
import { writeYaml } from '../resources/writeYaml.js';
import { builder } from './builder.js';
import { kubeWrites } from './cost.js';
import { ParamInput, SecretRefInput } from './pipelineResourceMutations.js';
import { PipelineRunRef } from './refs.js';
import { dryRunOptions } from './writes.js';

// ─── Inputs ──────────────────────────────────────────────────────────────────

const InlineResourceSpecInput = builder.inputType('InlineResourceSpecInput', {
  description: 'A resource given for one run only, as legacy `resourceSpec` allowed; checked like a new PipelineResource.',
  fields: (t) => ({
    type: t.string({ required: true, description: 'The resource type; must be the slot’s.' }),
    params: t.field({ type: [ParamInput], required: false, description: 'Its plain params.' }),
    secrets: t.field({ type: [SecretRefInput], required: false, description: 'Where its secret params come from.' }),
  }),
});

const SlotOverrideInput = builder.inputType('SlotOverrideInput', {
  description: 'Fills a slot for this run instead of its binding: give exactly one of `resource` and `resourceSpec`.',
  fields: (t) => ({
    slot: t.string({ required: true, description: 'One of the pipeline’s slots.' }),
    resource: t.string({ required: false, description: 'Another PipelineResource of the namespace, of the slot’s type.' }),
    resourceSpec: t.field({ type: InlineResourceSpecInput, required: false, description: 'An inline resource spec.' }),
  }),
});

const RunPipelineInput = builder.inputType('RunPipelineInput', {
  description: 'Which pipeline to run, and what to change for this run.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'The namespace of the pipeline, its binding, resources and the run.' }),
    pipeline: t.string({ required: true, description: 'The Tekton v1 Pipeline to run.' }),
    overrides: t.field({
      type: [SlotOverrideInput],
      required: false,
      description: 'Slots filled otherwise than by the pipeline’s ResourceBinding, for this run only.',
    }),
    params: t.field({
      type: [ParamInput],
      required: false,
      description: 'Plain Tekton params of the run, passed as given after the slot params; none may be named like a slot.',
    }),
    generateName: t.string({
      required: false,
      description: 'The prefix Kubernetes names the run from; `<pipeline>-` when not given.',
    }),
  }),
});

// ─── runPipeline ─────────────────────────────────────────────────────────────

interface RunPipelineOutcome {
  run: KubeObject;
  yaml: string;
  dryRun: boolean;
}

const RunPipelineSuccess = builder.objectRef<RunPipelineOutcome>('RunPipelineSuccess').implement({
  description: '`runPipeline` succeeded: the PipelineRun created (or, for a dry run, the one it would create).',
  fields: (t) => ({
    run: t.field({
      type: PipelineRunRef,
      description:
        'The PipelineRun as Kubernetes stored it; for a dry run, as the apiserver’s dry run returned it (its name is not kept).',
      resolve: (o) => o.run,
    }),
    yaml: t.exposeString('yaml', {
      description: 'The PipelineRun as sent to Kubernetes, as YAML: `kubectl create -f` starts the same run.',
    }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when nothing was created.' }),
  }),
});

builder.mutationFields((t) => ({
  runPipeline: t.field({
    directives: kubeWrites,
    type: RunPipelineSuccess,
    description:
      'Starts a pipeline as the caller: resolves its ResourceBinding plus `overrides` into an ordinary Tekton v1 PipelineRun ' +
      '(each slot an object param, each secret a workspace bound to its Secret, a `config` resource a workspace bound to its ' +
      'ConfigMap; docs/bindings.md) that records the resources it used. Refused, with nothing created, when a slot is neither ' +
      'bound nor overridden, a resource’s type is not its slot’s, a required param is missing (ValidationError; paths ' +
      '`slots.<slot>…` for bound resources, `input.overrides[i]…` for overrides), or a resource, Secret or ConfigMap it uses ' +
      'does not exist (NotFoundError; Secrets are checked as the caller, by metadata only).',
    errors: {
      types: [ValidationError, NotFoundError, ConflictError, ForbiddenError, UnavailableError],
      directResult: true,
    },
    args: { input: t.arg({ type: RunPipelineInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      const body = await planRun(ctx.kube, input);
      const run = await createRun(ctx.kube, body, !!dryRun);
      return { run, yaml: writeYaml(body), dryRun: !!dryRun };
    },
  }),
}));
