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

/**
 * Slots a pipeline may declare, and entries a binding may hold: the
 * ResourceBinding CRD's `maxItems` for `spec.resources`. Annotations are
 * anyone's to write, so lists read from them are cut here, where they are
 * parsed, and every field built on them is bounded (docs/security.md).
 */
export const maxSlots = 64;

/**
 * Entries a run's provenance annotation may hold: one per slot, so a run
 * `runPipeline` made never has more. `runPipeline` refuses a run past it; a
 * hand-written annotation past it is read up to it.
 */
export const maxRecordedResources = maxSlots;

/** A list read from an annotation, cut to its cap: what was kept, and how many entries were left out. */
export interface Capped<T> {
  items: T[];
  omitted: number;
}

function capped<T>(all: T[], cap: number): Capped<T> {
  return all.length > cap ? { items: all.slice(0, cap), omitted: all.length - cap } : { items: all, omitted: 0 };
}

export interface Slot {
  name: string;
  type: string;
  description: string | undefined;
}

/** The pipeline's slots by name, at most `maxSlots` of them (the first by name). */
export function pipelineSlots(pipeline: KubeObject): Slot[] {
  return readPipelineSlots(pipeline).items;
}

export function readPipelineSlots(pipeline: KubeObject): Capped<Slot> {
  const declared = Object.entries(pipeline.metadata.annotations ?? {})
    .filter(([key]) => key.startsWith(slotAnnotationPrefix))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const { items, omitted } = capped(declared, maxSlots);
  const params = arr(pipeline, 'spec', 'params');
  return {
    items: items.map(([key, type]) => {
      const name = key.slice(slotAnnotationPrefix.length);
      const param = params.find((p) => str(p, 'name') === name);
      return { name, type, description: str(param, 'description') };
    }),
    omitted,
  };
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

/**
 * The entries of a run's provenance annotation, the first `maxRecordedResources`
 * of them; tolerant of hand-edited or foreign annotations (not JSON, not a list: none).
 */
export function provenanceEntries(run: KubeObject): Capped<unknown> {
  const raw = run.metadata.annotations?.[provenanceAnnotation];
  if (!raw) return { items: [], omitted: 0 };
  try {
    const parsed: unknown = JSON.parse(raw);
    return capped(Array.isArray(parsed) ? parsed : [], maxRecordedResources);
  } catch {
    return { items: [], omitted: 0 };
  }
}

/** One entry of a run's provenance annotation, read field by field (a stored resource has a name; an inline spec `inline: true`). */
export interface ProvenanceRecord extends ResourceUsage {
  inline: boolean;
}

/** Every entry a run recorded, within the cap, each read the one way. */
export function provenanceRecords(run: KubeObject): ProvenanceRecord[] {
  return provenanceEntries(run).items.map((u) => ({
    slot: str(u, 'slot') ?? '',
    name: str(u, 'name') ?? '',
    inline: (u as { inline?: unknown } | null)?.inline === true,
    type: str(u, 'type'),
    resourceVersion: str(u, 'resourceVersion'),
    paramsHash: str(u, 'paramsHash'),
  }));
}

/** The stored resources a run recorded (inline specs have no name and are skipped), within the cap. */
export function runResources(run: KubeObject): ResourceUsage[] {
  return provenanceRecords(run)
    .filter((u) => u.name !== '')
    .map(({ inline: _, ...usage }) => usage);
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
