import type { KubeObject } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';

/**
 * How a Tekton v1 Pipeline declares the resources it takes (docs/bindings.md):
 * an annotation per slot, `slots.resources.tekton.dev/<slot>: <resource type>`,
 * beside an object param of the same name that receives the resource's params.
 */
export const slotAnnotationPrefix = 'slots.resources.tekton.dev/';

/** Where a run records the resources it used: JSON, a list of ResourceUsage. */
export const provenanceAnnotation = 'resources.tekton.dev/resources';

export interface Slot {
  name: string;
  type: string;
  description: string | undefined;
}

export function pipelineSlots(pipeline: KubeObject): Slot[] {
  const params = arr(pipeline, 'spec', 'params');
  return Object.entries(pipeline.metadata.annotations ?? {})
    .filter(([key]) => key.startsWith(slotAnnotationPrefix))
    .map(([key, type]) => {
      const name = key.slice(slotAnnotationPrefix.length);
      const param = params.find((p) => str(p, 'name') === name);
      return { name, type, description: str(param, 'description') };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export interface PipelineTask {
  name: string;
  taskName: string | undefined;
  runAfter: string[];
  finally: boolean;
}

export function pipelineTasks(pipeline: KubeObject): PipelineTask[] {
  const read = (t: unknown, isFinally: boolean): PipelineTask => ({
    name: str(t, 'name') ?? '',
    taskName: str(t, 'taskRef', 'name'),
    runAfter: arr(t, 'runAfter').filter((x): x is string => typeof x === 'string'),
    finally: isFinally,
  });
  return [
    ...arr(pipeline, 'spec', 'tasks').map((t) => read(t, false)),
    ...arr(pipeline, 'spec', 'finally').map((t) => read(t, true)),
  ];
}

export interface ResourceUsage {
  slot: string;
  name: string;
  type: string | undefined;
  resourceVersion: string | undefined;
  paramsHash: string | undefined;
}

/** The resources a run recorded; tolerant of hand-edited or foreign annotations. */
export function runResources(run: KubeObject): ResourceUsage[] {
  const raw = run.metadata.annotations?.[provenanceAnnotation];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return (Array.isArray(parsed) ? parsed : [])
      .map((u) => ({
        slot: str(u, 'slot') ?? '',
        name: str(u, 'name') ?? '',
        type: str(u, 'type'),
        resourceVersion: str(u, 'resourceVersion'),
        paramsHash: str(u, 'paramsHash'),
      }))
      .filter((u) => u.name !== '');
  } catch {
    return [];
  }
}

export type RunStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface Condition {
  type: string;
  status: string;
  reason: string | undefined;
  message: string | undefined;
  lastTransitionTime: string | undefined;
}

export function conditions(obj: KubeObject): Condition[] {
  return arr(obj, 'status', 'conditions').map((c) => ({
    type: str(c, 'type') ?? '',
    status: str(c, 'status') ?? 'Unknown',
    reason: str(c, 'reason'),
    message: str(c, 'message'),
    lastTransitionTime: str(c, 'lastTransitionTime'),
  }));
}

/** Tekton's `Succeeded` condition, summarised. */
export function runStatus(obj: KubeObject): RunStatus {
  const c = conditions(obj).find((x) => x.type === 'Succeeded');
  if (!c) return 'PENDING';
  if (c.status === 'True') return 'SUCCEEDED';
  if (c.status === 'False') return /cancel/i.test(c.reason ?? '') ? 'CANCELLED' : 'FAILED';
  return /pending/i.test(c.reason ?? '') ? 'PENDING' : 'RUNNING';
}
