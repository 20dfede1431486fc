import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import type { KubeObject } from '../kube/kinds.js';
import { runInputBounds } from '../resources/runInputs.js';
import { createRun, planRun } from '../resources/runPlan.js';
import { writeYaml } from '../resources/writeYaml.js';
import { builder } from './builder.js';
import { kubeWrites } from './cost.js';
import { LabelInput, ParamInput, SecretRefInput } from './pipelineResourceMutations.js';
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

const RunParamPropertyInput = builder.inputType('RunParamPropertyInput', {
  description: 'One key of an object param.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The key; one the param declares in `properties`.' }),
    value: t.string({ required: true, description: 'Its value (object params hold strings).' }),
  }),
});

const RunParamInput = builder.inputType('RunParamInput', {
  description:
    'A param of the run, as `PipelineRunParam` shows it: give exactly one of `value` (a string param), `values` (an ' +
    'array param) and `properties` (an object param), as the pipeline declares the param.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A param the pipeline declares, not a slot; each name at most once.' }),
    value: t.string({ required: false, description: 'The value of a string param.' }),
    values: t.stringList({ required: false, description: `The values of an array param, at most ${runInputBounds.values}.` }),
    properties: t.field({
      type: [RunParamPropertyInput],
      required: false,
      description: 'The keys of an object param: every key it declares, and no other.',
    }),
  }),
});

const KeyToPathInput = builder.inputType('WorkspaceItemInput', {
  description: 'A key of a Secret or ConfigMap, and the file it appears as in the workspace.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'The key in the Secret or ConfigMap; it must exist.' }),
    path: t.string({ required: true, description: 'The file, relative to the workspace, without `..`.' }),
  }),
});

const WorkspaceBindingInput = builder.inputType('WorkspaceBindingInput', {
  description:
    'Binds a workspace the pipeline declares to a volume: give exactly one of `emptyDir`, `persistentVolumeClaim`, ' +
    '`volumeClaimTemplate`, `configMap` and `secret`. A slot’s workspaces are bound by its resource, not here.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A workspace the pipeline declares (`spec.workspaces[].name`).' }),
    subPath: t.string({ required: false, description: 'A directory within the volume, relative, without `..`.' }),
    emptyDir: t.field({
      type: builder.inputType('EmptyDirInput', {
        description: 'A scratch directory that lives as long as the run’s Pod (`{}` for the defaults).',
        fields: (f) => ({
          medium: f.string({ required: false, description: 'Empty (the node’s disk) or `Memory`.' }),
          sizeLimit: f.string({ required: false, description: 'A Kubernetes quantity, e.g. `1Gi`.' }),
        }),
      }),
      required: false,
      description: 'A scratch directory for the run.',
    }),
    persistentVolumeClaim: t.field({
      type: builder.inputType('PersistentVolumeClaimInput', {
        description: 'An existing PersistentVolumeClaim of the namespace.',
        fields: (f) => ({
          claimName: f.string({ required: true, description: 'Its name.' }),
          readOnly: f.boolean({ required: false, description: 'Mount it read-only.' }),
        }),
      }),
      required: false,
      description: 'An existing PersistentVolumeClaim.',
    }),
    volumeClaimTemplate: t.field({
      type: builder.inputType('VolumeClaimTemplateInput', {
        description: 'A PersistentVolumeClaim Tekton creates for the run (and deletes with it).',
        fields: (f) => ({
          storage: f.string({ required: true, description: 'The size asked for, a Kubernetes quantity, e.g. `1Gi`.' }),
          accessModes: f.stringList({
            required: false,
            description: '`ReadWriteOnce` (when not given), `ReadOnlyMany`, `ReadWriteMany` or `ReadWriteOncePod`.',
          }),
          storageClassName: f.string({ required: false, description: 'The StorageClass; the cluster’s default when not given.' }),
        }),
      }),
      required: false,
      description: 'A PersistentVolumeClaim made for the run.',
    }),
    configMap: t.field({
      type: builder.inputType('ConfigMapWorkspaceInput', {
        description: 'A ConfigMap of the namespace, its keys as files; it must exist (and hold the keys asked for).',
        fields: (f) => ({
          name: f.string({ required: true, description: 'Its name.' }),
          items: f.field({ type: [KeyToPathInput], required: false, description: 'Only these keys; every key when not given.' }),
        }),
      }),
      required: false,
      description: 'A ConfigMap’s keys as files.',
    }),
    secret: t.field({
      type: builder.inputType('SecretWorkspaceInput', {
        description: 'A Secret of the namespace, its keys as files; it must exist (checked by metadata only).',
        fields: (f) => ({
          secretName: f.string({ required: true, description: 'Its name.' }),
          items: f.field({ type: [KeyToPathInput], required: false, description: 'Only these keys; every key when not given.' }),
        }),
      }),
      required: false,
      description: 'A Secret’s keys as files.',
    }),
  }),
});

const TimeoutsInput = builder.inputType('RunTimeoutsInput', {
  description:
    'How long the run may take (`spec.timeouts`), as durations such as `1h30m`, `90s`, or `0` for no limit. `tasks` and ' +
    '`finally` need `pipeline`, and must fit within it, together too.',
  fields: (t) => ({
    pipeline: t.string({
      required: false,
      description: 'The whole run; the cluster’s default (60m unless changed) when not given.',
    }),
    tasks: t.string({ required: false, description: 'The pipeline’s tasks, before `finally`.' }),
    finally: t.string({ required: false, description: 'The `finally` tasks.' }),
  }),
});

const TaskRunTemplateInput = builder.inputType('TaskRunTemplateInput', {
  description: 'What every TaskRun of the run gets (`spec.taskRunTemplate`).',
  fields: (t) => ({
    serviceAccountName: t.string({
      required: false,
      description: 'The ServiceAccount its Pods run as; the namespace’s `default` when not given.',
    }),
    nodeSelector: t.field({
      type: [LabelInput],
      required: false,
      description: `Node labels its Pods must run on (\`podTemplate.nodeSelector\`), at most ${runInputBounds.nodeSelector}.`,
    }),
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
      type: [RunParamInput],
      required: false,
      description:
        `Tekton params of the run, after the slot params, at most ${runInputBounds.params}: each one the pipeline ` +
        'declares, of its type; every declared param without a default must be given (slots are given by their resources).',
    }),
    workspaces: t.field({
      type: [WorkspaceBindingInput],
      required: false,
      description: `Workspace bindings, after the slots’, at most ${runInputBounds.workspaces}: every workspace the pipeline declares that is not optional must be bound (by a slot or here).`,
    }),
    timeouts: t.field({ type: TimeoutsInput, required: false, description: 'How long the run may take.' }),
    taskRunTemplate: t.field({
      type: TaskRunTemplateInput,
      required: false,
      description: 'The ServiceAccount and nodes of its TaskRuns.',
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
      'bound nor overridden, a resource’s type is not its slot’s, a required param is missing, a param, workspace, ' +
      'timeout or TaskRun template does not fit the pipeline’s declarations or Tekton’s rules (ValidationError; paths ' +
      '`slots.<slot>…` for bound resources, `input.overrides[i]…` for overrides, `input.params[i]…`, ' +
      '`input.workspaces[i]…`, `input.timeouts.<field>`, `input.taskRunTemplate.<field>` for the rest), or a resource, ' +
      'Secret or ConfigMap it uses does not exist (NotFoundError; Secrets are checked as the caller, by metadata only).',
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
