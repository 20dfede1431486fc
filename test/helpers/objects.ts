import { apiVersion, type KindName, type KubeObject, kinds, resourcePath } from '../../src/kube/kinds.js';
import { kubeClient } from './cluster.js';

/** Creates objects as the admin, straight through the Kubernetes API (test set-up, not the code under test). */
export async function createObjects(
  namespace: string,
  objects: { kind: KindName; name: string; body: Record<string, unknown> }[],
) {
  const admin = kubeClient('admin');
  const created: KubeObject[] = [];
  for (const o of objects) {
    const spec = kinds[o.kind];
    const { metadata, ...rest } = o.body as { metadata?: Record<string, unknown> };
    created.push(
      await admin.request<KubeObject>('POST', resourcePath(spec, namespace), {
        body: { apiVersion: apiVersion(spec), kind: spec.kind, metadata: { name: o.name, namespace, ...metadata }, ...rest },
      }),
    );
  }
  return created;
}

export const gitResource = (name: string, url = `https://github.com/example/${name}.git`) => ({
  kind: 'PipelineResource' as const,
  name,
  body: { spec: { type: 'git', params: [{ name: 'url', value: url }] } },
});

export const imageResource = (name: string) => ({
  kind: 'PipelineResource' as const,
  name,
  body: { spec: { type: 'image', params: [{ name: 'url', value: `registry.example.com/${name}` }] } },
});

/** A Tekton v1 Pipeline with slots (docs/bindings.md): `slots` maps slot name to resource type. */
export const pipeline = (
  name: string,
  slots: Record<string, string>,
  tasks: { name: string; taskRef?: string; runAfter?: string[] }[] = [],
) => ({
  kind: 'Pipeline' as const,
  name,
  body: {
    metadata: { annotations: Object.fromEntries(Object.entries(slots).map(([s, t]) => [`slots.resources.tekton.dev/${s}`, t])) },
    spec: {
      description: `The ${name} pipeline`,
      params: Object.keys(slots).map((s) => ({ name: s, type: 'object', description: `slot ${s}` })),
      tasks: tasks.map((t) => ({
        name: t.name,
        ...(t.taskRef ? { taskRef: { name: t.taskRef } } : {}),
        ...(t.runAfter ? { runAfter: t.runAfter } : {}),
      })),
    },
  },
});

export const binding = (name: string, pipelineName: string, entries: Record<string, string>) => ({
  kind: 'ResourceBinding' as const,
  name,
  body: {
    spec: {
      pipelineRef: { name: pipelineName },
      resources: Object.entries(entries).map(([slot, resource]) => ({ name: slot, resourceRef: { name: resource } })),
    },
  },
});
