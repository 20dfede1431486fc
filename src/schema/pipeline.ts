import { type KubeObject, newestFirst } from '../kube/kinds.js';
import { str } from '../kube/read.js';
import { bindingEntries } from '../resources/bindings.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { maxSlots, type PipelineTask, pipelineSlots, pipelineTasks, readPipelineSlots, type Slot } from '../resources/tekton.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { assumedSize, connectionSize, limitSize, listBounds } from './cost.js';
import { clampLimit, pageSize } from './pagination.js';
import {
  KubernetesObjectRef,
  objectId,
  PipelineRef,
  PipelineResourceRef,
  PipelineRunRef,
  ResourceBindingRef,
  splitId,
  TaskRef,
} from './refs.js';

const PipelineTaskRef = builder.objectRef<PipelineTask & { namespace: string }>('PipelineTask').implement({
  description: 'A task of a pipeline.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name within the pipeline (`spec.tasks[].name` or `spec.finally[].name`).' }),
    taskName: t.string({
      nullable: true,
      description: 'The referenced Task, when it is one by name.',
      resolve: (pt) => pt.taskName ?? null,
    }),
    task: t.field({
      type: TaskRef,
      nullable: true,
      description:
        'The Task it runs; null when it names none (inline `taskSpec` or a resolver), or the Task does not exist or the caller may not read it.',
      resolve: (pt, _args, ctx) => (pt.taskName ? ctx.loaders.get('Task', pt.namespace, pt.taskName) : null),
    }),
    runAfter: t.stringList({
      description: 'Names of the pipeline tasks it runs after (`runAfter`); empty when none.',
      directives: assumedSize(listBounds.tasks),
      resolve: (pt) => pt.runAfter,
    }),
    finally: t.exposeBoolean('finally', { description: 'Runs in the pipeline’s `finally` section.' }),
  }),
});

const SlotRef = builder.objectRef<Slot & { pipeline: KubeObject }>('ResourceSlot').implement({
  description: 'A resource a pipeline takes: its name and resource type (docs/bindings.md).',
  fields: (t) => ({
    name: t.exposeString('name', {
      description:
        'The slot name, from the annotation `slots.resources.tekton.dev/<name>`; also the name of the `object` param that receives the resource’s params.',
    }),
    type: t.exposeString('type', { description: 'The resource type it accepts, e.g. `git`.' }),
    description: t.string({
      nullable: true,
      description: 'The description of the pipeline param of the same name (`spec.params[].description`); null when none.',
      resolve: (s) => s.description ?? null,
    }),
    resource: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description: 'The resource its binding gives it, if any.',
      resolve: async (s, _args, ctx) => {
        const bindings = await ctx.loaders.byIndex('ResourceBinding', 'byPipeline', objectId(s.pipeline));
        const entry = bindings.flatMap(bindingEntries).find((e) => e.slot === s.name);
        if (!entry) return null;
        return ctx.loaders.get('PipelineResource', entry.namespace, entry.resourceName) as Promise<PipelineResourceObject | null>;
      },
    }),
  }),
});

builder.node(PipelineRef, {
  description: 'A Tekton v1 Pipeline, as stored.',
  interfaces: [KubernetesObjectRef],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('Pipeline', ...splitId(id)),
  fields: (t) => ({
    description: t.string({
      nullable: true,
      description: 'Free text from `spec.description`; null when none.',
      resolve: (p) => str(p, 'spec', 'description') ?? null,
    }),
    tasks: t.field({
      type: [PipelineTaskRef],
      description: 'Its tasks: `spec.tasks`, then `spec.finally`, each in written order.',
      directives: assumedSize(listBounds.tasks),
      resolve: (p) => pipelineTasks(p).map((pt) => ({ ...pt, namespace: p.metadata.namespace ?? '' })),
    }),
    slots: t.field({
      type: [SlotRef],
      description: `The resources this pipeline takes, by name: at most ${maxSlots} (see \`slotsOmitted\`).`,
      directives: assumedSize(listBounds.slots),
      resolve: (p) => pipelineSlots(p).map((s) => ({ ...s, pipeline: p })),
    }),
    slotsOmitted: t.int({
      description: `Slot annotations past the first ${maxSlots} by name, which are not read; \`runPipeline\` refuses such a pipeline.`,
      resolve: (p) => readPipelineSlots(p).omitted,
    }),
    bindings: t.field({
      type: [ResourceBindingRef],
      description: 'The ResourceBindings that give it resources (normally one, named after the pipeline).',
      directives: assumedSize(listBounds.small),
      resolve: (p, _args, ctx) => ctx.loaders.byIndex('ResourceBinding', 'byPipeline', objectId(p)),
    }),
    resources: t.field({
      type: [PipelineResourceRef],
      description: 'The resources its bindings give it.',
      directives: assumedSize(listBounds.slots),
      resolve: async (p, _args, ctx) => {
        const bindings = await ctx.loaders.byIndex('ResourceBinding', 'byPipeline', objectId(p));
        const names = bindings.flatMap(bindingEntries).map((e) => e.resourceName);
        return ctx.loaders.getMany('PipelineResource', p.metadata.namespace ?? '', names) as Promise<PipelineResourceObject[]>;
      },
    }),
    runs: t.field({
      type: [PipelineRunRef],
      description: 'Its runs, newest first.',
      directives: limitSize,
      args: { limit: t.arg.int({ required: false, defaultValue: 20, description: `At most ${pageSize.max}.` }) },
      resolve: async (p, args, ctx) => {
        const limit = clampLimit(args.limit, 20);
        const runs = await ctx.loaders.byIndex('PipelineRun', 'byPipeline', objectId(p));
        return runs.toSorted(newestFirst).slice(0, limit);
      },
    }),
  }),
});

builder.queryFields((t) => ({
  pipelines: t.connection(
    {
      type: PipelineRef,
      description: 'Tekton Pipelines, ordered by namespace then name.',
      directives: connectionSize,
      args: {
        namespace: t.arg.string({ required: false, description: listArgsDescriptions.namespace }),
        labelSelector: t.arg.string({ required: false, description: listArgsDescriptions.labelSelector }),
        search: t.arg.string({ required: false, description: listArgsDescriptions.search }),
      },
      resolve: (_root, args, ctx) =>
        listConnection(ctx, 'Pipeline', args, { text: (p) => [str(p, 'spec', 'description') ?? ''] }),
    },
    {
      name: 'PipelineConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'PipelineEdge' },
  ),
  pipeline: t.field({
    type: PipelineRef,
    nullable: true,
    description: 'One Tekton Pipeline, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.loaders.getNamed('Pipeline', args.namespace, args.name),
  }),
}));
