import type { KubeObject } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import type { Slot } from './tekton.js';
import { dns1123Subdomain, type FieldError } from './validation.js';

/**
 * What `runPipeline` passes besides slots (docs/bindings.md, "Running a
 * pipeline"): params of every Tekton type, timeouts and the TaskRun template
 * (workspace bindings: runWorkspaces.ts), each checked against the Pipeline's
 * declarations (and Tekton v1's own rules) before anything is written. Pure.
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
