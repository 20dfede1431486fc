import { createHash } from 'node:crypto';
import { apiVersion, type KubeObject, kinds } from '../kube/kinds.js';
import { catalogName, type ResourceTypeSpec, resourceType } from './catalog.js';
import type { ResourceParam, SecretRef } from './PipelineResourceObject.js';
import type { TektonParamValue } from './runInputs.js';
import type { TektonWorkspaceBinding } from './runWorkspaces.js';
import { provenanceAnnotation, provenanceRecords, type ResourceUsage, runResources, type Slot } from './tekton.js';
import type { FieldError } from './validation.js';

/**
 * Resolving a pipeline's slots into an ordinary Tekton v1 PipelineRun
 * (docs/bindings.md, "Running a pipeline"): each slot becomes an object param
 * named after it, each secret a workspace bound to its Secret, a `config`
 * resource a workspace bound to its ConfigMap. Pure: the caller reads the
 * objects (as the caller) and writes the run.
 */

/** The workspace a secret field of a slot arrives in: `<slot>-<fieldName>`, the value as file `<fieldName>`. */
export const secretWorkspaceName = (slot: string, fieldName: string) => `${slot}-${fieldName}`;

/** The workspace the ConfigMap of a `config` slot arrives in: `<slot>-files`, one file per key. */
export const configWorkspaceName = (slot: string) => `${slot}-files`;

/** Every workspace a slot's resource may bind: one per secret field of its type, and a `config` slot's files. */
export function slotWorkspaceNames(slot: Slot): string[] {
  const spec = resourceType(slot.type);
  return [
    ...(spec?.params.filter((p) => p.secret).map((p) => secretWorkspaceName(slot.name, p.name)) ?? []),
    ...(spec?.name === 'config' ? [configWorkspaceName(slot.name)] : []),
  ];
}

export interface WorkspaceBinding {
  name: string;
  secret?: { secretName: string; items: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}

/** What a slot is filled with, before resolution: a stored resource or an inline spec. */
export interface SlotFilling {
  slot: string;
  /** The resource type the slot accepts. */
  slotType: string;
  /** Where problems with it are reported, e.g. `slots.source` or `input.overrides[0].resource`. */
  path: string;
  type: string;
  params: readonly ResourceParam[];
  secrets: readonly SecretRef[];
  /** The stored resource used; absent for an inline spec. */
  resource?: { name: string; resourceVersion: string };
}

/** A slot resolved into what the run receives. */
export interface ResolvedSlot {
  slot: string;
  type: string;
  /** The object param's value: every plain param of the type (value, else the type's default, else ""). */
  values: Record<string, string>;
  paramsHash: string;
  workspaces: WorkspaceBinding[];
  /** The ConfigMap a `config` slot mounts, with the keys it asks for (empty: all). */
  configMap?: { name: string; keys: string[]; path: string };
  /** The Secrets its workspaces bind, with where each came from. */
  secretNames: { name: string; path: string }[];
  provenance: ProvenanceEntry;
}

/**
 * One entry of the run's `resources.tekton.dev/resources` annotation. A stored
 * resource is recorded with its name and resourceVersion; an inline spec has
 * neither and is marked `inline: true` (readers of stored resources skip it).
 */
export interface ProvenanceEntry {
  slot: string;
  name?: string;
  inline?: true;
  type: string;
  resourceVersion?: string;
  paramsHash: string;
}

/** `an image`, `a git`. */
export const withArticle = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

/** Keys sorted at every level, no spaces: the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:<hex>` of the canonical JSON of the resolved params. */
export function paramsHash(values: Record<string, string>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(values)).digest('hex')}`;
}

export interface ParamResolution {
  values: Record<string, string>;
  /** Required params without a non-blank value. */
  missing: string[];
  /** Plain params that the type keeps secret (allowed by legacy Tekton); never copied into a run. */
  secretAsPlain: string[];
}

/**
 * The object param of a slot: every plain param of the type, in catalog
 * order, with the resource's value (the last one given wins, as in Tekton),
 * else the type's default, else "". A blank value counts as not set. Params
 * the type does not know are not passed on.
 */
export function resolveParams(spec: ResourceTypeSpec, params: readonly ResourceParam[]): ParamResolution {
  const given = new Map<string, string>();
  const secretAsPlain = new Set<string>();
  for (const p of params) {
    const name = catalogName(spec, p.name);
    if (!name) continue;
    if (spec.params.find((s) => s.name === name)?.secret) {
      secretAsPlain.add(name);
      continue;
    }
    given.set(name, p.value ?? '');
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const ps of spec.params) {
    if (ps.secret) continue;
    const value = given.get(ps.name)?.trim() ? (given.get(ps.name) ?? '') : (ps.default ?? '');
    values[ps.name] = value;
    if (ps.required && value.trim() === '') missing.push(ps.name);
  }
  return { values, missing, secretAsPlain: [...secretAsPlain] };
}

/**
 * Resolves one slot. Problems are returned, all of them, each with a path
 * under `filling.path`.
 */
export function resolveSlot(filling: SlotFilling): { slot?: ResolvedSlot; errors: FieldError[] } {
  const spec = resourceType(filling.type);
  const what = filling.resource
    ? `${filling.resource.name} is ${withArticle(filling.type || 'typeless')} resource`
    : `the spec has type ${filling.type}`;
  if (filling.type !== filling.slotType || !spec) {
    return {
      errors: [
        {
          path: filling.resource ? filling.path : `${filling.path}.type`,
          message: `${what}; slot "${filling.slot}" takes ${filling.slotType}`,
        },
      ],
    };
  }
  const { values, missing, secretAsPlain } = resolveParams(spec, filling.params);
  const paramsPath = filling.resource ? filling.path : `${filling.path}.params`;
  const errors: FieldError[] = [
    ...missing.map((name) => ({ path: paramsPath, message: `type ${spec.name} requires param "${name}"` })),
    ...secretAsPlain.map((name) => ({
      path: paramsPath,
      message: `"${name}" is secret: give it through secrets (a Secret reference), not as a plain param; runs never copy it`,
    })),
  ];
  const byWorkspace = new Map<string, { workspace: WorkspaceBinding; path: string }>();
  filling.secrets.forEach((s, i) => {
    const fieldName = catalogName(spec, s.fieldName) ?? s.fieldName;
    const name = secretWorkspaceName(filling.slot, fieldName);
    // A field given twice: the last one wins, as for params.
    byWorkspace.set(name, {
      workspace: { name, secret: { secretName: s.secretName, items: [{ key: s.secretKey, path: fieldName }] } },
      path: filling.resource ? filling.path : `${filling.path}.secrets[${i}].secretName`,
    });
  });
  let configMap: ResolvedSlot['configMap'];
  const workspaces = [...byWorkspace.values()].map((w) => w.workspace);
  if (spec.name === 'config' && values.configMapName) {
    const keys = (values.keys ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    configMap = { name: values.configMapName, keys, path: paramsPath };
    workspaces.push({
      name: configWorkspaceName(filling.slot),
      configMap: { name: values.configMapName, ...(keys.length ? { items: keys.map((k) => ({ key: k, path: k })) } : {}) },
    });
  }
  if (errors.length) return { errors };
  const hash = paramsHash(values);
  return {
    errors: [],
    slot: {
      slot: filling.slot,
      type: spec.name,
      values,
      paramsHash: hash,
      workspaces,
      ...(configMap ? { configMap } : {}),
      secretNames: [...byWorkspace.values()].map((w) => ({ name: w.workspace.secret?.secretName ?? '', path: w.path })),
      provenance: filling.resource
        ? {
            slot: filling.slot,
            name: filling.resource.name,
            type: spec.name,
            resourceVersion: filling.resource.resourceVersion,
            paramsHash: hash,
          }
        : { slot: filling.slot, inline: true, type: spec.name, paramsHash: hash },
    },
  };
}

/** How a run wants a slot filled instead of by its binding. */
export interface SlotOverride {
  slot: string;
  resource?: string | null;
  resourceSpec?: { type: string; params?: readonly ResourceParam[] | null; secrets?: readonly SecretRef[] | null } | null;
}

/** Where each slot's filling comes from, before anything is read. */
export type SlotSource =
  | { slot: Slot; kind: 'resource'; name: string; path: string }
  | { slot: Slot; kind: 'inline'; spec: NonNullable<SlotOverride['resourceSpec']>; path: string };

/**
 * Per slot of the pipeline: the override for it, else the binding's entry.
 * Refuses overrides of slots the pipeline lacks, overrides that name both or
 * neither of a resource and a spec, and slots filled by neither.
 */
export function slotSources(
  slots: readonly Slot[],
  bound: ReadonlyMap<string, string>,
  overrides: readonly SlotOverride[],
): { sources: SlotSource[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const bySlot = new Map<string, { o: SlotOverride; i: number }>();
  overrides.forEach((o, i) => {
    const path = `input.overrides[${i}]`;
    if (!slots.some((s) => s.name === o.slot)) {
      errors.push({
        path: `${path}.slot`,
        message: slots.length
          ? `the pipeline has no slot "${o.slot}"; its slots: ${slots.map((s) => s.name).join(', ')}`
          : 'the pipeline declares no slots (docs/bindings.md)',
      });
    } else if (bySlot.has(o.slot)) {
      errors.push({ path: `${path}.slot`, message: `slot "${o.slot}" is overridden twice` });
    }
    if (!o.resource === !o.resourceSpec) {
      errors.push({ path, message: 'give exactly one of `resource` and `resourceSpec`' });
    }
    if (!bySlot.has(o.slot)) bySlot.set(o.slot, { o, i });
  });
  const sources: SlotSource[] = [];
  for (const slot of slots) {
    const override = bySlot.get(slot.name);
    const name = bound.get(slot.name);
    if (override?.o.resource) {
      sources.push({ slot, kind: 'resource', name: override.o.resource, path: `input.overrides[${override.i}].resource` });
    } else if (override?.o.resourceSpec) {
      sources.push({ slot, kind: 'inline', spec: override.o.resourceSpec, path: `input.overrides[${override.i}].resourceSpec` });
    } else if (!override && name) {
      sources.push({ slot, kind: 'resource', name, path: `slots.${slot.name}` });
    } else if (!override) {
      errors.push({
        path: `slots.${slot.name}`,
        message: `slot "${slot.name}" (${slot.type}) is not bound and not overridden: bind a resource or give an override`,
      });
    }
  }
  return { sources, errors };
}

/** The caller's plain params: names given once, and none that is a slot's. */
export function checkPlainParams(params: readonly { name: string }[], slots: readonly Slot[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  params.forEach((p, i) => {
    const path = `input.params[${i}].name`;
    if (p.name.trim() === '') errors.push({ path, message: 'must not be empty' });
    else if (slots.some((s) => s.name.toLowerCase() === p.name.toLowerCase()))
      errors.push({ path, message: `"${p.name}" is a slot: it receives the resource's params` });
    else if (seen.has(p.name.toLowerCase())) errors.push({ path, message: `duplicate param "${p.name}"` });
    seen.add(p.name.toLowerCase());
  });
  return errors;
}

export interface PipelineRunPlan {
  namespace: string;
  pipeline: string;
  generateName: string;
  slots: readonly ResolvedSlot[];
  params: readonly { name: string; value: TektonParamValue }[];
  /** The caller's workspace bindings, after the slots'. */
  workspaces?: readonly TektonWorkspaceBinding[];
  timeouts?: { pipeline?: string; tasks?: string; finally?: string };
  taskRunTemplate?: { serviceAccountName?: string; podTemplate?: { nodeSelector: Record<string, string> } };
}

/** A PipelineRun to create: named by the apiserver from `generateName`. */
export interface PipelineRunManifest {
  apiVersion: string;
  kind: string;
  metadata: { generateName: string; namespace: string; annotations: Record<string, string> };
  spec: {
    pipelineRef: { name: string };
    params: { name: string; value: TektonParamValue }[];
    workspaces?: TektonWorkspaceBinding[];
    timeouts?: PipelineRunPlan['timeouts'];
    taskRunTemplate?: PipelineRunPlan['taskRunTemplate'];
  };
}

/**
 * The PipelineRun: slot params (by slot name), then the caller's params as
 * given; slot workspaces in slot order, then the caller's; timeouts and the
 * TaskRun template when given; the provenance annotation. Nothing else.
 */
export function buildPipelineRun(plan: PipelineRunPlan): PipelineRunManifest {
  const slots = [...plan.slots].sort((a, b) => (a.slot < b.slot ? -1 : 1));
  const workspaces: TektonWorkspaceBinding[] = [...slots.flatMap((s) => s.workspaces), ...(plan.workspaces ?? [])];
  return {
    apiVersion: apiVersion(kinds.PipelineRun),
    kind: kinds.PipelineRun.kind,
    metadata: {
      generateName: plan.generateName,
      namespace: plan.namespace,
      annotations: { [provenanceAnnotation]: JSON.stringify(slots.map((s) => s.provenance)) },
    },
    spec: {
      pipelineRef: { name: plan.pipeline },
      params: [...slots.map((s) => ({ name: s.slot, value: s.values })), ...plan.params.map((p) => ({ ...p }))],
      ...(workspaces.length ? { workspaces } : {}),
      ...(plan.timeouts ? { timeouts: plan.timeouts } : {}),
      ...(plan.taskRunTemplate ? { taskRunTemplate: plan.taskRunTemplate } : {}),
    },
  };
}

/** The inline specs a run recorded (entries marked `inline: true`). */
export function runInlineResources(
  run: KubeObject,
): { slot: string; type: string | undefined; paramsHash: string | undefined }[] {
  return provenanceRecords(run)
    .filter((u) => u.inline && u.name === '')
    .map(({ slot, type, paramsHash }) => ({ slot, type, paramsHash }));
}

/** The resolved params of a stored resource now, as a run would receive them; undefined when it cannot be resolved. */
export function currentParamsHash(resource: { spec?: { type?: string; params?: ResourceParam[] } }): string | undefined {
  const spec = resourceType(String(resource.spec?.type ?? ''));
  if (!spec) return undefined;
  const params = Array.isArray(resource.spec?.params)
    ? resource.spec.params.map((p) => ({ name: String(p.name ?? ''), value: String(p.value ?? '') }))
    : [];
  return paramsHash(resolveParams(spec, params).values);
}

/**
 * The usages of `resource` in `run` that recorded another resourceVersion
 * than the resource has now: the run used an older version.
 */
export function staleUsages(run: KubeObject, resource: KubeObject): ResourceUsage[] {
  return runResources(run).filter(
    (u) =>
      u.name === resource.metadata.name &&
      u.resourceVersion !== undefined &&
      u.resourceVersion !== (resource.metadata.resourceVersion ?? ''),
  );
}
