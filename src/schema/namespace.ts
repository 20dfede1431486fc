import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Context } from '../context.js';
import { type KindName, type KubeObject, newestFirst } from '../kube/kinds.js';
import { bindingEntries, bindingPipelineName } from '../resources/bindings.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { runResources, runStatus } from '../resources/tekton.js';
import { builder } from './builder.js';
import { assumedSize, limitSize, listBounds } from './cost.js';
import { clampLimit } from './pagination.js';
import { NamespaceRef, objectId, PipelineRef, PipelineResourceRef, PipelineRunRef, ResourceBindingRef } from './refs.js';

const graphKinds: KindName[] = ['PipelineResource', 'Pipeline', 'ResourceBinding', 'PipelineRun'];

builder.node(NamespaceRef, {
  description: 'A namespace, as far as this graph goes: its resources, pipelines, bindings and runs.',
  id: { resolve: (n) => n.name },
  loadOne: async (name, ctx) => ((await readableNamespaces(ctx, name)).includes(name) ? { name } : null),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The Kubernetes name of the namespace.' }),
    pipelineResources: t.field({
      type: [PipelineResourceRef],
      description: 'Its PipelineResources, by name; empty when the caller may not list them.',
      directives: assumedSize(listBounds.namespaceObjects),
      resolve: async (n, _a, ctx) => (await ctx.loaders.list('PipelineResource', n.name)) as readonly PipelineResourceObject[],
    }),
    pipelines: t.field({
      type: [PipelineRef],
      description: 'Its Tekton Pipelines, by name; empty when the caller may not list them.',
      directives: assumedSize(listBounds.namespaceObjects),
      resolve: (n, _a, ctx) => ctx.loaders.list('Pipeline', n.name),
    }),
    resourceBindings: t.field({
      type: [ResourceBindingRef],
      description: 'Its ResourceBindings, by name; empty when the caller may not list them.',
      directives: assumedSize(listBounds.namespaceObjects),
      resolve: (n, _a, ctx) => ctx.loaders.list('ResourceBinding', n.name),
    }),
    pipelineRuns: t.field({
      type: [PipelineRunRef],
      description: 'Newest first.',
      directives: limitSize,
      args: { limit: t.arg.int({ required: false, defaultValue: 20 }) },
      resolve: async (n, args, ctx) =>
        (await ctx.loaders.list('PipelineRun', n.name)).toSorted(newestFirst).slice(0, clampLimit(args.limit, 20)),
    }),
  }),
});

/** Namespaces holding objects of the graph that the caller may list (`only`: just that one, if so). */
async function readableNamespaces(ctx: Context, only?: string): Promise<string[]> {
  const names = new Set<string>();
  for (const kind of graphKinds) {
    for (const o of await ctx.loaders.list(kind, only)) names.add(o.metadata.namespace ?? '');
  }
  return [...names].sort();
}

const GraphNodeKind = builder.enumType('GraphNodeKind', {
  description: 'What object a node of the resource graph is.',
  values: {
    RESOURCE: { description: 'A PipelineResource; `label` is its type.' },
    PIPELINE: { description: 'A Tekton Pipeline; `label` is null.' },
    RUN: { description: 'A PipelineRun; `label` is its `RunStatus`.' },
  } as const,
});
const GraphEdgeKind = builder.enumType('GraphEdgeKind', {
  description: 'How two nodes of the resource graph connect; edges point from `from` to `to`.',
  values: {
    BINDS: { description: 'resource → pipeline: a binding gives the resource to the pipeline; `label` is the slot.' },
    RAN: { description: 'pipeline → run.' },
    USED: { description: 'run → resource: the run used it; `label` is the resourceVersion it used.' },
  } as const,
});

interface GraphNode {
  id: string;
  kind: 'RESOURCE' | 'PIPELINE' | 'RUN';
  name: string;
  label: string | null;
}
interface GraphEdge {
  from: string;
  to: string;
  kind: 'BINDS' | 'RAN' | 'USED';
  label: string | null;
}

const GraphNodeRef = builder.objectRef<GraphNode>('GraphNode').implement({
  description: 'An object of the resource graph.',
  fields: (t) => ({
    // Not `id`: a GraphNode is not the object it stands for, and Relay keys its store by `id` alone, so the same ID
    // on two types would merge their records.
    objectId: t.exposeID('id', {
      description:
        'The global ID of the object this node stands for (the `id` of that PipelineResource, Pipeline or PipelineRun): `node(id:)` reads it.',
    }),
    kind: t.field({ type: GraphNodeKind, description: 'What the object is.', resolve: (n) => n.kind }),
    name: t.exposeString('name', { description: 'The Kubernetes name of the object.' }),
    label: t.string({ nullable: true, description: 'Resource type, or run status.', resolve: (n) => n.label }),
  }),
});
const GraphEdgeRef = builder.objectRef<GraphEdge>('GraphEdge').implement({
  description: 'A directed link between two nodes of the resource graph.',
  fields: (t) => ({
    from: t.exposeID('from', { description: 'The `objectId` of the node it starts from.' }),
    to: t.exposeID('to', { description: 'The `objectId` of the node it points to.' }),
    kind: t.field({ type: GraphEdgeKind, description: 'What the link means.', resolve: (e) => e.kind }),
    label: t.string({
      nullable: true,
      description: 'The slot for `BINDS`, the resourceVersion used for `USED` (null when not recorded); null for `RAN`.',
      resolve: (e) => e.label,
    }),
  }),
});
const ResourceGraphRef = builder.objectRef<{ nodes: GraphNode[]; edges: GraphEdge[] }>('ResourceGraph').implement({
  description: 'Resources, pipelines and recent runs of a namespace, and how they connect, for drawing.',
  fields: (t) => ({
    nodes: t.field({
      type: [GraphNodeRef],
      description: 'Resources and pipelines, each by name, then runs, newest first per pipeline.',
      directives: assumedSize(listBounds.graph),
      resolve: (g) => g.nodes,
    }),
    edges: t.field({
      type: [GraphEdgeRef],
      description: 'The links between `nodes`; every edge joins two of them.',
      directives: assumedSize(listBounds.graph),
      resolve: (g) => g.edges,
    }),
  }),
});

builder.queryFields((t) => ({
  namespaces: t.field({
    type: [NamespaceRef],
    description: 'Namespaces that hold resources, pipelines, bindings or runs the caller may list.',
    directives: assumedSize(listBounds.namespaceObjects),
    resolve: async (_root, _args, ctx) => (await readableNamespaces(ctx)).map((name) => ({ name })),
  }),
  namespace: t.field({
    type: NamespaceRef,
    nullable: true,
    description:
      'A namespace by name. It is not checked to exist: for one that does not, or that the caller may not read, its lists are empty.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args) => ({ name: args.name }),
  }),
  resourceGraph: t.field({
    type: ResourceGraphRef,
    description:
      'The graph of a namespace: resources, pipelines, their newest runs, and the bindings and usages that join them; only what the caller may list.',
    args: {
      namespace: t.arg.string({ required: true }),
      runsPerPipeline: t.arg.int({ required: false, defaultValue: 5, description: 'Newest runs shown per pipeline (0–50).' }),
    },
    resolve: async (_root, args, ctx) => {
      const ns = args.namespace;
      const [resources, pipelines, bindings, runs] = await Promise.all(graphKinds.map((k) => ctx.loaders.list(k, ns)));
      const id = (typename: string, o: KubeObject) => encodeGlobalID(typename, objectId(o));
      const keyId = (typename: string, name: string) => encodeGlobalID(typename, `${ns}/${name}`);
      const nodes: GraphNode[] = [];
      const edges: GraphEdge[] = [];
      for (const r of (resources ?? []) as readonly PipelineResourceObject[]) {
        nodes.push({ id: id('PipelineResource', r), kind: 'RESOURCE', name: r.metadata.name, label: String(r.spec?.type ?? '') });
      }
      const pipelineNames = new Set<string>();
      for (const p of pipelines ?? []) {
        pipelineNames.add(p.metadata.name);
        nodes.push({ id: id('Pipeline', p), kind: 'PIPELINE', name: p.metadata.name, label: null });
      }
      const resourceNames = new Set(nodes.filter((n) => n.kind === 'RESOURCE').map((n) => n.name));
      for (const b of bindings ?? []) {
        const pipeline = bindingPipelineName(b);
        if (!pipelineNames.has(pipeline)) continue;
        for (const e of bindingEntries(b)) {
          if (resourceNames.has(e.resourceName)) {
            edges.push({
              from: keyId('PipelineResource', e.resourceName),
              to: keyId('Pipeline', pipeline),
              kind: 'BINDS',
              label: e.slot,
            });
          }
        }
      }
      const perPipeline = clampLimit(args.runsPerPipeline, 5, 50);
      const byPipeline = new Map<string, KubeObject[]>();
      for (const run of runs ?? []) {
        const p = (run.spec as { pipelineRef?: { name?: string } } | undefined)?.pipelineRef?.name;
        if (p && pipelineNames.has(p)) byPipeline.set(p, [...(byPipeline.get(p) ?? []), run]);
      }
      for (const [pipeline, list] of [...byPipeline].sort(([a], [b]) => (a < b ? -1 : 1))) {
        list.sort(newestFirst);
        for (const run of list.slice(0, perPipeline)) {
          nodes.push({ id: id('PipelineRun', run), kind: 'RUN', name: run.metadata.name, label: runStatus(run) });
          edges.push({ from: keyId('Pipeline', pipeline), to: id('PipelineRun', run), kind: 'RAN', label: null });
          for (const u of runResources(run)) {
            if (resourceNames.has(u.name)) {
              edges.push({
                from: id('PipelineRun', run),
                to: keyId('PipelineResource', u.name),
                kind: 'USED',
                label: u.resourceVersion ?? null,
              });
            }
          }
        }
      }
      return { nodes, edges };
    },
  }),
}));
