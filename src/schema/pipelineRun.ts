import type { Context } from '../context.js';
import type { KubeObject } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { runInlineResources } from '../resources/resolve.js';
import {
  type Condition,
  conditions,
  maxRecordedResources,
  provenanceAnnotation,
  provenanceEntries,
  type ResourceUsage,
  runResources,
  runStatus,
} from '../resources/tekton.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { assumedSize, connectionSize, listBounds } from './cost.js';
import {
  KubernetesObjectRef,
  objectId,
  PipelineRef,
  PipelineResourceRef,
  PipelineRunRef,
  splitId,
  TaskRef,
  TaskRunRef,
} from './refs.js';

const RunStatusEnum = builder.enumType('RunStatus', {
  description: "A run's state, from Tekton's `Succeeded` condition.",
  values: {
    PENDING: { description: 'Not started yet.' },
    RUNNING: { description: 'Started, not finished.' },
    SUCCEEDED: { description: 'Finished successfully.' },
    FAILED: { description: 'Finished with a failure.' },
    CANCELLED: { description: 'Cancelled before it finished.' },
  } as const,
});

const ConditionRef = builder.objectRef<Condition>('Condition').implement({
  description: 'A Kubernetes status condition.',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'What the condition is about, e.g. `Succeeded`.' }),
    status: t.exposeString('status', { description: '`True`, `False` or `Unknown`.' }),
    reason: t.string({
      nullable: true,
      description: 'A CamelCase reason for the status, e.g. `Succeeded`, `Failed` or `Cancelled`; null when none.',
      resolve: (c) => c.reason ?? null,
    }),
    message: t.string({
      nullable: true,
      description: 'Details of the status, for people; null when none.',
      resolve: (c) => c.message ?? null,
    }),
    lastTransitionTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When `status` last changed; null when not recorded.',
      resolve: (c) => c.lastTransitionTime ?? null,
    }),
  }),
});

const ResourceUsageRef = builder.objectRef<ResourceUsage & { namespace: string }>('ResourceUsage').implement({
  description: 'A resource a run used, as it was when the run was created.',
  fields: (t) => ({
    slot: t.exposeString('slot', { description: 'The slot of the pipeline it filled; may be empty in hand-written records.' }),
    resourceName: t.string({ description: 'The name of the PipelineResource, in the run’s namespace.', resolve: (u) => u.name }),
    type: t.string({
      nullable: true,
      description: 'Its resource type at the time, e.g. `git`; null when not recorded.',
      resolve: (u) => u.type ?? null,
    }),
    resourceVersion: t.string({
      nullable: true,
      description: 'The version the run used.',
      resolve: (u) => u.resourceVersion ?? null,
    }),
    paramsHash: t.string({ nullable: true, description: 'A hash of the resolved params.', resolve: (u) => u.paramsHash ?? null }),
    resource: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description: 'The resource as it is now (null when deleted).',
      resolve: (u, _args, ctx) =>
        ctx.loaders.get('PipelineResource', u.namespace, u.name) as Promise<PipelineResourceObject | null>,
    }),
  }),
});

const KeyValueRef = builder.objectRef<{ name: string; value: string }>('PipelineRunParamProperty').implement({
  description: 'One key of an object param.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The key, e.g. `url`.' }),
    value: t.exposeString('value', { description: 'Its value.' }),
  }),
});

interface RunParam {
  name: string;
  value: unknown;
}

const RunParamRef = builder.objectRef<RunParam>('PipelineRunParam').implement({
  description: 'A param the run passes to its pipeline (`spec.params`); exactly one of the value fields is set.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The param name; for a slot, the slot’s name.' }),
    value: t.string({
      nullable: true,
      description: 'The value of a string param; null otherwise.',
      resolve: (p) => (typeof p.value === 'string' ? p.value : null),
    }),
    values: t.stringList({
      nullable: true,
      description: 'The values of an array param; null otherwise.',
      directives: assumedSize(listBounds.tektonParams),
      resolve: (p) => (Array.isArray(p.value) ? p.value.map(String) : null),
    }),
    properties: t.field({
      type: [KeyValueRef],
      nullable: true,
      description: 'The keys of an object param (a slot’s resolved resource params), in key order; null otherwise.',
      directives: assumedSize(listBounds.resourceParams),
      resolve: (p) =>
        p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value)
          ? Object.entries(p.value as Record<string, unknown>)
              .map(([name, value]) => ({ name, value: String(value ?? '') }))
              .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          : null,
    }),
  }),
});

const KeyToPathRef = builder.objectRef<{ key: string; path: string }>('WorkspaceItem').implement({
  description: 'A key of a Secret or ConfigMap, and the file it appears as in the workspace.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key in the Secret or ConfigMap.' }),
    path: t.exposeString('path', { description: 'The file name in the workspace.' }),
  }),
});

const workspaceSources = {
  EMPTY_DIR: 'emptyDir',
  PERSISTENT_VOLUME_CLAIM: 'persistentVolumeClaim',
  VOLUME_CLAIM_TEMPLATE: 'volumeClaimTemplate',
  CONFIG_MAP: 'configMap',
  SECRET: 'secret',
  PROJECTED: 'projected',
  CSI: 'csi',
} as const;

const WorkspaceSourceEnum = builder.enumType('WorkspaceSource', {
  description: 'What kind of volume a run binds a workspace to.',
  values: Object.fromEntries(
    Object.entries(workspaceSources).map(([value, field]) => [value, { description: `\`${field}\`.` }]),
  ) as Record<keyof typeof workspaceSources, { description: string }>,
});

const RunWorkspaceRef = builder.objectRef<unknown>('PipelineRunWorkspace').implement({
  description: 'A workspace the run binds (`spec.workspaces`). References only: never a Secret’s value.',
  fields: (t) => ({
    name: t.string({ description: 'The workspace name, e.g. `repo-authToken`.', resolve: (w) => str(w, 'name') ?? '' }),
    source: t.field({
      type: WorkspaceSourceEnum,
      nullable: true,
      description: 'The kind of volume it is bound to; null when none Tekton knows.',
      resolve: (w) =>
        (Object.entries(workspaceSources).find(([, field]) => (w as Record<string, unknown>)?.[field] != null)?.[0] as
          | keyof typeof workspaceSources
          | undefined) ?? null,
    }),
    claimName: t.string({
      nullable: true,
      description: 'The PersistentVolumeClaim it is bound to; null when not an existing claim.',
      resolve: (w) => str(w, 'persistentVolumeClaim', 'claimName') ?? null,
    }),
    subPath: t.string({
      nullable: true,
      description: 'The directory of the volume it sees; null for the whole volume.',
      resolve: (w) => str(w, 'subPath') ?? null,
    }),
    secretName: t.string({
      nullable: true,
      description: 'The Secret it is bound to; null when not a Secret.',
      resolve: (w) => str(w, 'secret', 'secretName') ?? null,
    }),
    configMapName: t.string({
      nullable: true,
      description: 'The ConfigMap it is bound to; null when not a ConfigMap.',
      resolve: (w) => str(w, 'configMap', 'name') ?? null,
    }),
    items: t.field({
      type: [KeyToPathRef],
      description: 'The keys of the Secret or ConfigMap it mounts, as files; empty when it mounts every key.',
      directives: assumedSize(listBounds.small),
      resolve: (w) =>
        [...arr(w, 'secret', 'items'), ...arr(w, 'configMap', 'items')].map((i) => ({
          key: str(i, 'key') ?? '',
          path: str(i, 'path') ?? '',
        })),
    }),
  }),
});

const InlineUsageRef = builder
  .objectRef<{ slot: string; type: string | undefined; paramsHash: string | undefined }>('InlineResourceUsage')
  .implement({
    description: 'An inline resource spec a run used (a `runPipeline` override); it has no name or version.',
    fields: (t) => ({
      slot: t.exposeString('slot', { description: 'The slot it filled.' }),
      type: t.string({ nullable: true, description: 'Its resource type.', resolve: (u) => u.type ?? null }),
      paramsHash: t.string({
        nullable: true,
        description: 'A hash of the resolved params.',
        resolve: (u) => u.paramsHash ?? null,
      }),
    }),
  });

/** The fields PipelineRun and TaskRun share. */
const runFields = builder.interfaceRef<KubeObject>('Run').implement({
  description: 'A Tekton run.',
  interfaces: [KubernetesObjectRef],
  fields: (t) => ({
    status: t.field({
      type: RunStatusEnum,
      description: 'Its state, summarised from the `Succeeded` condition; `PENDING` while it has none.',
      resolve: runStatus,
    }),
    conditions: t.field({
      type: [ConditionRef],
      description: 'Its status conditions (`status.conditions`), as Tekton wrote them.',
      directives: assumedSize(listBounds.tasks),
      resolve: conditions,
    }),
    startTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it started (`status.startTime`); null until then.',
      resolve: (r) => str(r, 'status', 'startTime') ?? null,
    }),
    completionTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it finished (`status.completionTime`); null until then.',
      resolve: (r) => str(r, 'status', 'completionTime') ?? null,
    }),
  }),
});

/** Runs whose provenance annotation was cut, logged once per stored version. */
const warnedCut = new WeakSet<KubeObject>();

function warnIfCut(ctx: Context, run: KubeObject): void {
  if (warnedCut.has(run)) return;
  const { omitted } = provenanceEntries(run);
  if (!omitted) return;
  warnedCut.add(run);
  ctx.logger.warn(
    { namespace: run.metadata.namespace, name: run.metadata.name, omitted, cap: maxRecordedResources },
    'PipelineRun records more resources than a run may; only the first are read',
  );
}

const pipelineName = (r: KubeObject) => str(r, 'spec', 'pipelineRef', 'name');

builder.node(PipelineRunRef, {
  description: 'A Tekton v1 PipelineRun.',
  interfaces: [KubernetesObjectRef, runFields],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('PipelineRun', ...splitId(id)),
  fields: (t) => ({
    pipelineName: t.string({
      nullable: true,
      description: 'The Pipeline it runs (`spec.pipelineRef.name`); null when it names none (inline `pipelineSpec`).',
      resolve: (r) => pipelineName(r) ?? null,
    }),
    pipeline: t.field({
      type: PipelineRef,
      nullable: true,
      description:
        'The Pipeline it runs, as it is now; null when it names none, or the Pipeline does not exist or the caller may not read it.',
      resolve: (r, _args, ctx) => {
        const name = pipelineName(r);
        return name ? ctx.loaders.get('Pipeline', r.metadata.namespace ?? '', name) : null;
      },
    }),
    resources: t.field({
      type: [ResourceUsageRef],
      description: `The resources it used, with the versions it used: at most ${maxRecordedResources} (see \`recordedResourcesOmitted\`).`,
      directives: assumedSize(listBounds.recordedResources),
      resolve: (r, _args, ctx) => {
        warnIfCut(ctx, r);
        return runResources(r).map((u) => ({ ...u, namespace: r.metadata.namespace ?? '' }));
      },
    }),
    recordedResourcesOmitted: t.int({
      description: `Entries of its provenance annotation (\`${provenanceAnnotation}\`) past the first ${maxRecordedResources}, which are not read: 0 for every run \`runPipeline\` makes.`,
      resolve: (r) => provenanceEntries(r).omitted,
    }),
    taskRuns: t.field({
      type: [TaskRunRef],
      description: 'Its TaskRuns: those labelled `tekton.dev/pipelineRun` with its name.',
      directives: assumedSize(listBounds.tasks),
      resolve: (r, _args, ctx) => ctx.loaders.byIndex('TaskRun', 'byPipelineRun', objectId(r)),
    }),
    params: t.field({
      type: [RunParamRef],
      description: 'The params it passes to the pipeline (`spec.params`), in stored order.',
      directives: assumedSize(listBounds.tektonParams),
      resolve: (r) =>
        arr(r, 'spec', 'params').map((p) => ({ name: str(p, 'name') ?? '', value: (p as { value?: unknown })?.value })),
    }),
    workspaces: t.field({
      type: [RunWorkspaceRef],
      description: 'The workspaces it binds (`spec.workspaces`), in stored order.',
      directives: assumedSize(listBounds.tasks),
      resolve: (r) => arr(r, 'spec', 'workspaces'),
    }),
    inlineResources: t.field({
      type: [InlineUsageRef],
      description: 'The inline resource specs it used (recorded in `resources.tekton.dev/resources` with `inline: true`).',
      directives: assumedSize(listBounds.recordedResources),
      resolve: runInlineResources,
    }),
  }),
});

builder.node(TaskRunRef, {
  description: 'A Tekton v1 TaskRun.',
  interfaces: [KubernetesObjectRef, runFields],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('TaskRun', ...splitId(id)),
  fields: (t) => ({
    taskName: t.string({
      nullable: true,
      description: 'The Task it runs (`spec.taskRef.name`); null when it names none (inline `taskSpec`).',
      resolve: (r) => str(r, 'spec', 'taskRef', 'name') ?? null,
    }),
    task: t.field({
      type: TaskRef,
      nullable: true,
      description:
        'The Task it runs, as it is now; null when it names none, or the Task does not exist or the caller may not read it.',
      resolve: (r, _args, ctx) => {
        const name = str(r, 'spec', 'taskRef', 'name');
        return name ? ctx.loaders.get('Task', r.metadata.namespace ?? '', name) : null;
      },
    }),
    pipelineRun: t.field({
      type: PipelineRunRef,
      nullable: true,
      description:
        'The PipelineRun it belongs to, from its `tekton.dev/pipelineRun` label; null for a TaskRun of its own, or when that run does not exist or the caller may not read it.',
      resolve: (r, _args, ctx) => {
        const name = r.metadata.labels?.['tekton.dev/pipelineRun'];
        return name ? ctx.loaders.get('PipelineRun', r.metadata.namespace ?? '', name) : null;
      },
    }),
  }),
});

builder.queryFields((t) => ({
  pipelineRuns: t.connection(
    {
      type: PipelineRunRef,
      description: 'PipelineRuns, ordered by namespace then name.',
      directives: connectionSize,
      args: {
        namespace: t.arg.string({ required: false, description: listArgsDescriptions.namespace }),
        labelSelector: t.arg.string({ required: false, description: listArgsDescriptions.labelSelector }),
        search: t.arg.string({ required: false, description: 'Case-insensitive text in the name.' }),
        pipeline: t.arg.string({ required: false, description: 'Only the runs of this pipeline.' }),
        status: t.arg({ type: RunStatusEnum, required: false }),
      },
      resolve: (_root, args, ctx) =>
        listConnection(ctx, 'PipelineRun', args, {
          filter: (r) => (!args.pipeline || pipelineName(r) === args.pipeline) && (!args.status || runStatus(r) === args.status),
        }),
    },
    {
      name: 'PipelineRunConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'PipelineRunEdge' },
  ),
  pipelineRun: t.field({
    type: PipelineRunRef,
    nullable: true,
    description: 'One PipelineRun, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.loaders.getNamed('PipelineRun', args.namespace, args.name),
  }),
}));
