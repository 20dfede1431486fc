import type { KubeClient, KubeList } from '../kube/KubeClient.js';
import { type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import { maxSlots } from './tekton.js';

/** One filled slot of a ResourceBinding (`spec.resources[]`). */
export interface BindingEntry {
  namespace: string;
  slot: string;
  resourceName: string;
}

/** A binding's entries, at most `maxSlots` (its CRD's `maxItems`; an object stored before that limit is cut here). */
export function bindingEntries(b: KubeObject): BindingEntry[] {
  return arr(b, 'spec', 'resources')
    .slice(0, maxSlots)
    .map((r) => ({
      namespace: b.metadata.namespace ?? '',
      slot: str(r, 'name') ?? '',
      resourceName: str(r, 'resourceRef', 'name') ?? '',
    }));
}

/** The Pipeline a binding holds the defaults of (`spec.pipelineRef.name`). */
export const bindingPipelineName = (b: KubeObject) => str(b, 'spec', 'pipelineRef', 'name') ?? '';

/**
 * The binding that holds a pipeline's defaults, read fresh with `kube` (the
 * caller's client): the one whose `spec.pipelineRef.name` is the pipeline (the
 * one named after it first, should there be several), or null. Kubernetes
 * errors are thrown as they come; the caller maps them.
 */
export async function pipelineBinding(kube: KubeClient, namespace: string, pipeline: string): Promise<KubeObject | null> {
  const list = await kube.request<KubeList>('GET', resourcePath(kinds.ResourceBinding, namespace));
  const mine = list.items.filter((b) => bindingPipelineName(b) === pipeline);
  return mine.find((b) => b.metadata.name === pipeline) ?? mine[0] ?? null;
}
