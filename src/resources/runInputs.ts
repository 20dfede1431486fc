import type { KubeObject } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import type { WorkspaceBinding } from './resolve.js';
import type { Slot } from './tekton.js';
import { dns1123Subdomain, type FieldError } from './validation.js';

/**
 * What `runPipeline` passes besides slots (docs/bindings.md, "Running a
 * pipeline"): params of every Tekton type, workspace bindings, timeouts and
 * the TaskRun template, each checked against the Pipeline's declarations (and
 * Tekton v1's own rules) before anything is written. Pure.
 */

/** Params, workspaces and values per run: past these a ValidationError (docs/security.md). */
export const runInputBounds = { params: 256, values: 256, workspaces: 64, nodeSelector: 32 } as const;

export type TektonParamType = 'string' | 'array' | 'object';
export type TektonParamValue = string | string[] | Record<string, string>;

/** A param as the caller gives it: exactly one of `value`, `values`, `properties`. */
export interface RunParamInput {
  name: string;
  value?: string | null;
  values?: readonly string[] | null;
  properties?: readonly { name: string; value: string }[] | null;
}

/** A param as the Pipeline declares it (`spec.params[]`), its type defaulted as Tekton defaults it. */
export interface DeclaredParam {
  name: string;
  type: TektonParamType;
  /** The keys an object param declares (`properties`). */
  keys: string[];
  /** The keys its default gives: a run need not give them again (Tekton counts them as provided). */
  defaultKeys: string[];
  hasDefault: boolean;
  /** Allowed values of a string param (`enum`), when it declares them. */
  allowed: string[] | undefined;
}

const paramTypes = new Set<string>(['string', 'array', 'object']);

function valueType(value: unknown): TektonParamType {
  return Array.isArray(value) ? 'array' : value !== null && typeof value === 'object' ? 'object' : 'string';
}

/**
 * The Pipeline's params. Tekton's defaulting gives an untyped param the type
 * of its default, else `object` when it has properties, else `string`.
 */
export function declaredParams(pipeline: KubeObject): DeclaredParam[] {
  return arr(pipeline, 'spec', 'params').map((p) => {
    const spec = (p ?? {}) as { type?: unknown; default?: unknown; properties?: unknown; enum?: unknown };
    const declared = typeof spec.type === 'string' && paramTypes.has(spec.type) ? (spec.type as TektonParamType) : undefined;
    const properties = spec.properties !== null && typeof spec.properties === 'object' ? Object.keys(spec.properties) : [];
    const type = declared ?? (spec.default !== undefined ? valueType(spec.default) : properties.length ? 'object' : 'string');
    return {
      name: str(p, 'name') ?? '',
      type,
      keys: properties,
      defaultKeys: valueType(spec.default) === 'object' ? Object.keys(spec.default as object) : [],
      hasDefault: spec.default !== undefined && spec.default !== null,
      allowed: Array.isArray(spec.enum) ? spec.enum.map(String) : undefined,
    };
  });
}

const article: Record<TektonParamType, string> = { string: 'a string', array: 'an array', object: 'an object' };
const field: Record<TektonParamType, string> = { string: 'value', array: 'values', object: 'properties' };

/**
 * The caller's params, typed, checked against the Pipeline's declarations:
 * each declared (slots are filled by their resources), of its declared type
 * (exactly one of `value`, `values`, `properties`), an object with every key it
 * declares that its default does not give, and no other, a value its `enum` allows; and every declared param
 * without a default given, by the caller or a slot. Names are checked by
 * `checkPlainParams` (resolve.ts).
 */
export function checkRunParams(
  pipelineName: string,
  params: readonly RunParamInput[],
  declared: readonly DeclaredParam[],
  slots: readonly Slot[],
): { params: { name: string; value: TektonParamValue }[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const out: { name: string; value: TektonParamValue }[] = [];
  if (params.length > runInputBounds.params) {
    return { params: [], errors: [{ path: 'input.params', message: `at most ${runInputBounds.params} params` }] };
  }
  const byName = new Map(declared.map((d) => [d.name, d]));
  const slotNames = new Set(slots.map((s) => s.name));
  params.forEach((p, i) => {
    const path = `input.params[${i}]`;
    const given = [
      p.value != null ? ('string' as const) : undefined,
      p.values != null ? ('array' as const) : undefined,
      p.properties != null ? ('object' as const) : undefined,
    ].filter((x) => x !== undefined);
    if (given.length !== 1) {
      errors.push({ path, message: 'give exactly one of `value` (string), `values` (array) and `properties` (object)' });
      return;
    }
    const type = given[0] as TektonParamType;
    const d = byName.get(p.name);
    if (slotNames.has(p.name)) return; // checkPlainParams reports it
    if (!d) {
      const names = declared.filter((x) => !slotNames.has(x.name)).map((x) => x.name);
      errors.push({
        path: `${path}.name`,
        message: `pipeline ${pipelineName} declares no param "${p.name}"${names.length ? `; its params: ${names.join(', ')}` : ''}`,
      });
      return;
    }
    if (d.type !== type) {
      errors.push({
        path: `${path}.${field[type]}`,
        message: `"${p.name}" is ${article[d.type]} param: give \`${field[d.type]}\``,
      });
      return;
    }
    if (p.values && p.values.length > runInputBounds.values) {
      errors.push({ path: `${path}.values`, message: `at most ${runInputBounds.values} values` });
      return;
    }
    if (p.properties) {
      if (p.properties.length > runInputBounds.values) {
        errors.push({ path: `${path}.properties`, message: `at most ${runInputBounds.values} keys` });
        return;
      }
      const keys = p.properties.map((k) => k.name);
      const dup = keys.find((k, j) => keys.indexOf(k) !== j);
      const missing = d.keys.filter((k) => !keys.includes(k) && !d.defaultKeys.includes(k));
      const extra = keys.filter((k) => !d.keys.includes(k));
      if (dup !== undefined) errors.push({ path: `${path}.properties`, message: `key "${dup}" is given twice` });
      if (missing.length) {
        errors.push({ path: `${path}.properties`, message: `"${p.name}" needs keys ${missing.map((k) => `"${k}"`).join(', ')}` });
      }
      if (extra.length) {
        errors.push({
          path: `${path}.properties`,
          message: `"${p.name}" declares no keys ${extra.map((k) => `"${k}"`).join(', ')}; its keys: ${d.keys.join(', ')}`,
        });
      }
      if (dup !== undefined || missing.length || extra.length) return;
      out.push({ name: p.name, value: Object.fromEntries(p.properties.map((k) => [k.name, k.value])) });
      return;
    }
    if (p.value != null && d.allowed && !d.allowed.includes(p.value)) {
      errors.push({ path: `${path}.value`, message: `"${p.name}" allows only ${d.allowed.map((v) => `"${v}"`).join(', ')}` });
      return;
    }
    out.push({ name: p.name, value: p.values ? [...p.values] : (p.value ?? '') });
  });
  const givenNames = new Set(params.map((p) => p.name));
  for (const d of declared) {
    if (!d.hasDefault && !slotNames.has(d.name) && !givenNames.has(d.name)) {
      errors.push({
        path: 'input.params',
        message: `pipeline ${pipelineName} requires param "${d.name}" (${d.type}, no default)`,
      });
    }
  }
  return { params: out, errors };
}

// ─── Workspaces ──────────────────────────────────────────────────────────────

export interface KeyToPath {
  key: string;
  path: string;
}

/** A workspace binding as the caller gives it: a name and exactly one volume source. */
export interface WorkspaceInput {
  name: string;
  subPath?: string | null;
  emptyDir?: { medium?: string | null; sizeLimit?: string | null } | null;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean | null } | null;
  volumeClaimTemplate?: {
    storage: string;
    accessModes?: readonly string[] | null;
    storageClassName?: string | null;
  } | null;
  configMap?: { name: string; items?: readonly KeyToPath[] | null } | null;
  secret?: { secretName: string; items?: readonly KeyToPath[] | null } | null;
}

/** A Tekton v1 WorkspaceBinding (`spec.workspaces[]`) of any volume source. */
export interface TektonWorkspaceBinding extends WorkspaceBinding {
  subPath?: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  volumeClaimTemplate?: {
    spec: { accessModes: string[]; resources: { requests: { storage: string } }; storageClassName?: string };
  };
}

/** The Secrets and ConfigMaps the caller's workspaces bind: they must exist (ConfigMaps with the keys asked for). */
export interface WorkspaceReferences {
  secrets: { name: string; path: string }[];
  configMaps: { name: string; keys: string[]; path: string }[];
}

const quantity = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const accessModes = new Set(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']);
const sources = ['emptyDir', 'persistentVolumeClaim', 'volumeClaimTemplate', 'configMap', 'secret'] as const;

function checkItems(items: readonly KeyToPath[] | null | undefined, path: string, errors: FieldError[]): KeyToPath[] {
  const out = [...(items ?? [])];
  out.forEach((it, j) => {
    if (!it.key.trim()) errors.push({ path: `${path}.items[${j}].key`, message: 'must not be empty' });
    if (!it.path.trim() || it.path.startsWith('/') || it.path.split('/').includes('..')) {
      errors.push({ path: `${path}.items[${j}].path`, message: 'must be a relative path without ".."' });
    }
  });
  return out;
}

/**
 * The caller's workspace bindings, checked against the Pipeline's declared
 * workspaces: each declared, bound once, with exactly one volume source that
 * is well formed; none named like a slot's workspace; and every declared
 * workspace that is not optional bound, by the caller or a slot.
 */
export function checkRunWorkspaces(
  pipelineName: string,
  inputs: readonly WorkspaceInput[],
  pipeline: KubeObject,
  slotWorkspaces: readonly string[],
): { workspaces: TektonWorkspaceBinding[]; references: WorkspaceReferences; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const references: WorkspaceReferences = { secrets: [], configMaps: [] };
  const out: TektonWorkspaceBinding[] = [];
  if (inputs.length > runInputBounds.workspaces) {
    return {
      workspaces: [],
      references,
      errors: [{ path: 'input.workspaces', message: `at most ${runInputBounds.workspaces} workspaces` }],
    };
  }
  const declared = arr(pipeline, 'spec', 'workspaces').map((w) => ({
    name: str(w, 'name') ?? '',
    optional: (w as { optional?: unknown })?.optional === true,
  }));
  const seen = new Set<string>();
  inputs.forEach((w, i) => {
    const path = `input.workspaces[${i}]`;
    if (slotWorkspaces.includes(w.name)) {
      errors.push({ path: `${path}.name`, message: `"${w.name}" is bound by a slot's resource (docs/bindings.md)` });
      return;
    }
    if (!declared.some((d) => d.name === w.name)) {
      const names = declared.map((d) => d.name).filter((n) => !slotWorkspaces.includes(n));
      errors.push({
        path: `${path}.name`,
        message: `pipeline ${pipelineName} declares no workspace "${w.name}"${names.length ? `; its workspaces: ${names.join(', ')}` : ''}`,
      });
      return;
    }
    if (seen.has(w.name)) {
      errors.push({ path: `${path}.name`, message: `workspace "${w.name}" is bound twice` });
      return;
    }
    seen.add(w.name);
    const given = sources.filter((s) => w[s] != null);
    if (given.length !== 1) {
      errors.push({ path, message: `give exactly one of ${sources.map((s) => `\`${s}\``).join(', ')}` });
      return;
    }
    const before = errors.length;
    const binding: TektonWorkspaceBinding = { name: w.name };
    if (w.subPath != null) {
      if (w.subPath.startsWith('/') || w.subPath.split('/').includes('..')) {
        errors.push({ path: `${path}.subPath`, message: 'must be a relative path without ".."' });
      } else binding.subPath = w.subPath;
    }
    if (w.emptyDir) {
      const { medium, sizeLimit } = w.emptyDir;
      if (medium != null && medium !== '' && medium !== 'Memory') {
        errors.push({ path: `${path}.emptyDir.medium`, message: 'must be empty (the node’s disk) or "Memory"' });
      }
      if (sizeLimit != null && !quantity.test(sizeLimit)) {
        errors.push({ path: `${path}.emptyDir.sizeLimit`, message: 'must be a Kubernetes quantity, e.g. 1Gi' });
      }
      binding.emptyDir = { ...(medium ? { medium } : {}), ...(sizeLimit ? { sizeLimit } : {}) };
    }
    if (w.persistentVolumeClaim) {
      const { claimName, readOnly } = w.persistentVolumeClaim;
      if (!dns1123Subdomain.test(claimName) || claimName.length > 253) {
        errors.push({ path: `${path}.persistentVolumeClaim.claimName`, message: 'must be a DNS-1123 name' });
      }
      binding.persistentVolumeClaim = { claimName, ...(readOnly ? { readOnly } : {}) };
    }
    if (w.volumeClaimTemplate) {
      const t = w.volumeClaimTemplate;
      const modes = [...(t.accessModes ?? ['ReadWriteOnce'])];
      if (!quantity.test(t.storage)) {
        errors.push({ path: `${path}.volumeClaimTemplate.storage`, message: 'must be a Kubernetes quantity, e.g. 1Gi' });
      }
      modes.forEach((m, j) => {
        if (!accessModes.has(m)) {
          errors.push({
            path: `${path}.volumeClaimTemplate.accessModes[${j}]`,
            message: `must be one of ${[...accessModes].join(', ')}`,
          });
        }
      });
      if (!modes.length) errors.push({ path: `${path}.volumeClaimTemplate.accessModes`, message: 'give at least one' });
      if (t.storageClassName != null && !dns1123Subdomain.test(t.storageClassName)) {
        errors.push({ path: `${path}.volumeClaimTemplate.storageClassName`, message: 'must be a DNS-1123 name' });
      }
      binding.volumeClaimTemplate = {
        spec: {
          accessModes: modes,
          resources: { requests: { storage: t.storage } },
          ...(t.storageClassName != null ? { storageClassName: t.storageClassName } : {}),
        },
      };
    }
    if (w.configMap) {
      const { name } = w.configMap;
      if (!dns1123Subdomain.test(name) || name.length > 253) {
        errors.push({ path: `${path}.configMap.name`, message: 'must be a DNS-1123 name' });
      }
      const items = checkItems(w.configMap.items, `${path}.configMap`, errors);
      binding.configMap = { name, ...(items.length ? { items } : {}) };
      references.configMaps.push({ name, keys: items.map((it) => it.key), path: `${path}.configMap` });
    }
    if (w.secret) {
      const { secretName } = w.secret;
      if (!dns1123Subdomain.test(secretName) || secretName.length > 253) {
        errors.push({ path: `${path}.secret.secretName`, message: 'must be a DNS-1123 name' });
      }
      const items = checkItems(w.secret.items, `${path}.secret`, errors);
      binding.secret = { secretName, items };
      if (!items.length) delete (binding.secret as { items?: unknown }).items;
      references.secrets.push({ name: secretName, path: `${path}.secret.secretName` });
    }
    if (errors.length === before) out.push(binding);
  });
  for (const d of declared) {
    if (!d.optional && !seen.has(d.name) && !slotWorkspaces.includes(d.name)) {
      errors.push({ path: 'input.workspaces', message: `pipeline ${pipelineName} requires workspace "${d.name}"` });
    }
  }
  return { workspaces: out, references, errors };
}

// ─── Timeouts and the TaskRun template ───────────────────────────────────────

export interface TimeoutsInput {
  pipeline?: string | null;
  tasks?: string | null;
  finally?: string | null;
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** A Go duration (`1h30m`, `90s`, `0`), as Kubernetes reads `metav1.Duration`, in milliseconds; undefined when not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (durationUnits[m[2] ?? ''] ?? Number.NaN);
    at = part.lastIndex;
  }
  return text.length ? total : undefined;
}

/**
 * `spec.timeouts`, checked as Tekton's webhook checks them: Go durations, `0`
 * meaning none; `tasks` and `finally` each within `pipeline` (and not none
 * when it is not), and together within it. Tekton compares them with the
 * cluster's default timeout when `pipeline` is not given, which the gateway
 * cannot know: then `pipeline` is required.
 */
export function checkTimeouts(input: TimeoutsInput): {
  timeouts?: { pipeline?: string; tasks?: string; finally?: string };
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const read = (key: 'pipeline' | 'tasks' | 'finally') => {
    const text = input[key];
    if (text == null) return undefined;
    const ms = parseGoDuration(text);
    if (ms === undefined)
      errors.push({ path: `input.timeouts.${key}`, message: 'must be a duration such as 1h30m, 90s or 0 (none)' });
    return ms;
  };
  const [pipeline, tasks, fin] = [read('pipeline'), read('tasks'), read('finally')];
  if (errors.length) return { errors };
  if (pipeline === undefined && (tasks !== undefined || fin !== undefined)) {
    errors.push({ path: 'input.timeouts.pipeline', message: 'give it with `tasks` or `finally`, which must fit within it' });
  }
  if (pipeline !== undefined) {
    for (const [key, ms] of [
      ['tasks', tasks],
      ['finally', fin],
    ] as const) {
      if (ms === undefined) continue;
      if (pipeline !== 0 && (ms > pipeline || ms === 0)) {
        errors.push({ path: `input.timeouts.${key}`, message: `must be within timeouts.pipeline (${input.pipeline})` });
      }
    }
    if (tasks !== undefined && fin !== undefined && tasks + fin > pipeline) {
      errors.push({ path: 'input.timeouts', message: `tasks + finally must be within timeouts.pipeline (${input.pipeline})` });
    }
  }
  const timeouts = Object.fromEntries(
    (['pipeline', 'tasks', 'finally'] as const).filter((k) => input[k] != null).map((k) => [k, input[k] as string]),
  );
  return { errors, ...(Object.keys(timeouts).length ? { timeouts } : {}) };
}

export interface TaskRunTemplateInput {
  serviceAccountName?: string | null;
  nodeSelector?: readonly { key: string; value: string }[] | null;
}

const labelKey =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `spec.taskRunTemplate`: the ServiceAccount every TaskRun runs as, and the nodes its Pods may run on. */
export function checkTaskRunTemplate(input: TaskRunTemplateInput): {
  template?: { serviceAccountName?: string; podTemplate?: { nodeSelector: Record<string, string> } };
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const { serviceAccountName, nodeSelector } = input;
  if (serviceAccountName != null && (!dns1123Subdomain.test(serviceAccountName) || serviceAccountName.length > 253)) {
    errors.push({ path: 'input.taskRunTemplate.serviceAccountName', message: 'must be a DNS-1123 name' });
  }
  const selector = [...(nodeSelector ?? [])];
  if (selector.length > runInputBounds.nodeSelector) {
    errors.push({ path: 'input.taskRunTemplate.nodeSelector', message: `at most ${runInputBounds.nodeSelector} labels` });
  } else {
    selector.forEach((l, i) => {
      const path = `input.taskRunTemplate.nodeSelector[${i}]`;
      if (!labelKey.test(l.key)) errors.push({ path: `${path}.key`, message: 'must be a Kubernetes label key' });
      else if (selector.findIndex((x) => x.key === l.key) !== i)
        errors.push({ path: `${path}.key`, message: `"${l.key}" is given twice` });
      if (!labelValue.test(l.value)) errors.push({ path: `${path}.value`, message: 'must be a Kubernetes label value' });
    });
  }
  if (errors.length) return { errors };
  const template = {
    ...(serviceAccountName != null ? { serviceAccountName } : {}),
    ...(selector.length ? { podTemplate: { nodeSelector: Object.fromEntries(selector.map((l) => [l.key, l.value])) } } : {}),
  };
  return { errors, ...(Object.keys(template).length ? { template } : {}) };
}
