import { arr, str } from '../kube/read.js';
import { builder } from './builder.js';
import { listArgsDescriptions, listConnection } from './connections.js';
import { assumedSize, connectionSize, listBounds } from './cost.js';
import { KubernetesObjectRef, objectId, splitId, TaskRef } from './refs.js';

const TaskParamRef = builder.objectRef<unknown>('TaskParam').implement({
  description: 'A param a task takes.',
  fields: (t) => ({
    name: t.string({ description: 'The param name (`spec.params[].name`).', resolve: (p) => str(p, 'name') ?? '' }),
    type: t.string({
      description: 'The Tekton param type: `string`, `array` or `object`; `string` when not given.',
      resolve: (p) => str(p, 'type') ?? 'string',
    }),
    description: t.string({
      nullable: true,
      description: 'What the param means, for people; null when none.',
      resolve: (p) => str(p, 'description') ?? null,
    }),
  }),
});

builder.node(TaskRef, {
  description: 'A Tekton v1 Task, as stored.',
  interfaces: [KubernetesObjectRef],
  id: { resolve: objectId },
  loadOne: (id, ctx) => ctx.loaders.get('Task', ...splitId(id)),
  fields: (t) => ({
    description: t.string({
      nullable: true,
      description: 'Free text from `spec.description`; null when none.',
      resolve: (task) => str(task, 'spec', 'description') ?? null,
    }),
    params: t.field({
      type: [TaskParamRef],
      description: 'The params it takes (`spec.params`), in written order.',
      directives: assumedSize(listBounds.tektonParams),
      resolve: (task) => arr(task, 'spec', 'params'),
    }),
    steps: t.stringList({
      description: 'The names of its steps, in order.',
      directives: assumedSize(listBounds.tasks),
      resolve: (task) => arr(task, 'spec', 'steps').map((s, i) => str(s, 'name') ?? `step-${i}`),
    }),
  }),
});

builder.queryFields((t) => ({
  tasks: t.connection(
    {
      type: TaskRef,
      description: 'Tekton Tasks of a namespace, ordered by name.',
      directives: connectionSize,
      args: {
        namespace: t.arg.string({ required: true }),
        labelSelector: t.arg.string({ required: false, description: listArgsDescriptions.labelSelector }),
        search: t.arg.string({ required: false, description: listArgsDescriptions.search }),
      },
      resolve: (_root, args, ctx) =>
        listConnection(ctx, 'Task', args, { text: (task) => [str(task, 'spec', 'description') ?? ''] }),
    },
    {
      name: 'TaskConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'TaskEdge' },
  ),
  task: t.field({
    type: TaskRef,
    nullable: true,
    description: 'One Tekton Task, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.loaders.getNamed('Task', args.namespace, args.name),
  }),
}));
