import { requireNamespaceName, requireObjectName } from '../auth/names.js';
import type { KubeObject } from '../kube/kinds.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { builder } from './builder.js';
import { assumedSize, listBounds } from './cost.js';

/**
 * Every object type, declared before its fields so that types can refer to
 * each other (a resource's pipelines, a pipeline's resources) without cycles.
 */
export const PipelineResourceRef = builder.objectRef<PipelineResourceObject>('PipelineResource');
export const ResourceBindingRef = builder.objectRef<KubeObject>('ResourceBinding');
export const PipelineRef = builder.objectRef<KubeObject>('Pipeline');
export const TaskRef = builder.objectRef<KubeObject>('Task');
export const PipelineRunRef = builder.objectRef<KubeObject>('PipelineRun');
export const TaskRunRef = builder.objectRef<KubeObject>('TaskRun');
export const NamespaceRef = builder.objectRef<{ name: string }>('Namespace');

export const LabelRef = builder.objectRef<{ key: string; value: string }>('Label').implement({
  description: 'A Kubernetes label.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key, with its optional DNS prefix (`example.com/team`).' }),
    value: t.exposeString('value', { description: 'The value; may be empty.' }),
  }),
});

/** Fields every Kubernetes-backed type has. */
export const KubernetesObjectRef = builder.interfaceRef<KubeObject>('KubernetesObject').implement({
  description: 'An object stored in Kubernetes.',
  fields: (t) => ({
    namespace: t.string({ description: 'The Kubernetes namespace.', resolve: (o) => o.metadata.namespace ?? '' }),
    name: t.string({ description: 'The Kubernetes name, unique in its namespace and kind.', resolve: (o) => o.metadata.name }),
    labels: t.field({
      type: [LabelRef],
      description: 'Kubernetes labels, in key order.',
      directives: assumedSize(listBounds.labels),
      resolve: (o) => Object.entries(o.metadata.labels ?? {}).map(([key, value]) => ({ key, value })),
    }),
    resourceVersion: t.string({
      description: 'Changes on every write; give it back to an update for optimistic concurrency.',
      resolve: (o) => o.metadata.resourceVersion ?? '',
    }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When Kubernetes created it.',
      resolve: (o) => o.metadata.creationTimestamp ?? null,
    }),
  }),
});

/** `namespace/name`, the key of the loaders and of global IDs. */
export const objectId = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * The `[namespace, name]` a global ID's payload names (`node`, `nodes`,
 * `_entities`); BAD_USER_INPUT (argument `id`) when either could not name an
 * object, before anything is reviewed or read.
 */
export function splitId(id: string): [namespace: string, name: string] {
  const i = id.indexOf('/');
  const [namespace, name] = i < 0 ? ['', id] : [id.slice(0, i), id.slice(i + 1)];
  requireNamespaceName(namespace, 'id');
  requireObjectName(name, 'id');
  return [namespace, name];
}
