import { ValidationError } from '../errors.js';
import { apiVersion, type KubeObject, kinds } from '../kube/kinds.js';
import { dns1123Subdomain, isNamespaceName } from '../kube/names.js';
import { arr, str } from '../kube/read.js';
import { catalogName, type ResourceTypeSpec, resourceType } from './catalog.js';
import { type PipelineResourceObject, type ResourceParam, type SecretRef, toPipelineResource } from './PipelineResourceObject.js';
import type { YamlDocument } from './readYaml.js';
import { secretWorkspaceName, withArticle } from './resolve.js';
import { slotAnnotationPrefix } from './tekton.js';
import { type FieldError, validatePipelineResourceInput } from './validation.js';

/**
 * Migration of Tekton v1alpha1/v1beta1 manifests that use PipelineResources
 * (`spec.resources`, `resourceRef`, `resourceSpec`) to Tekton v1 Pipelines
 * with slots, ResourceBindings and PipelineResources (docs/bindings.md,
 * "Migrating legacy pipelines"). Pure: applying is the caller's business.
 *
 * Over 400 lines on purpose: it is one transformation. `Migrator` walks each
 * pipeline and its tasks once, collecting names, slots and notes that every
 * later step reads; split by step, that state would travel between files.
 */

/** One thing the migration did, or could not do, and where. */
export interface MigrationNote {
  /** Where in the input, e.g. `documents[0].spec.tasks[1].resources.inputs[0]`. */
  path: string;
  message: string;
}

export interface Migration {
  /** The namespace of every object, when known (given, or from the documents). */
  namespace: string | undefined;
  /** PipelineResources to create: from legacy PipelineResource documents and inline `resourceSpec`s. */
  resources: PipelineResourceObject[];
  pipelines: KubeObject[];
  bindings: KubeObject[];
  /** Binding entries naming a resource the migration does not create: it must exist when applied. */
  references: { slot: string; slotType: string | undefined; resource: string; path: string }[];
  changes: MigrationNote[];
  notCarried: MigrationNote[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const objAt = (v: unknown, key: string): Obj | undefined => (isObj(v) && isObj(v[key]) ? v[key] : undefined);
const legacyVersions = new Set(['tekton.dev/v1alpha1', 'tekton.dev/v1beta1']);
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** Legacy storage sub-types that some manifests used as the resource type itself. */
const storageSubtypes = new Set(['gcs', 'build-gcs']);

export interface NormalizedResource {
  type: string;
  description: string | undefined;
  params: ResourceParam[];
  secrets: SecretRef[];
}

/**
 * A legacy resource spec in today's form, keeping its meaning as Tekton read
 * it: names matched case-insensitively (renamed to the catalog's spelling),
 * the last of duplicate params wins, a missing value is "", and `type: gcs`
 * becomes a `storage` resource. Every rewrite is noted; nothing is validated.
 */
export function normalizeLegacyResource(spec: unknown, path: string, changes: MigrationNote[], notCarried: MigrationNote[]) {
  let type = str(spec, 'type') ?? '';
  const params: ResourceParam[] = arr(spec, 'params').map((p) => ({ name: str(p, 'name') ?? '', value: str(p, 'value') ?? '' }));
  if (storageSubtypes.has(type)) {
    changes.push({ path: `${path}.type`, message: `type ${type} is now type storage with param type: ${type}` });
    if (!params.some((p) => p.name.toLowerCase() === 'type')) params.unshift({ name: 'type', value: type });
    type = 'storage';
  }
  const catalog = resourceType(type);
  const byName = new Map<string, { p: ResourceParam; i: number }>();
  params.forEach((p, i) => {
    const name = (catalog && catalogName(catalog, p.name)) ?? p.name;
    if (name !== p.name) {
      changes.push({ path: `${path}.params[${i}].name`, message: `param "${p.name}" is now "${name}" (names are exact now)` });
    }
    if (byName.has(name)) {
      changes.push({
        path: `${path}.params[${i}]`,
        message: `param "${name}" was given more than once: the last value is kept, as Tekton did`,
      });
    }
    byName.set(name, { p: { name, value: p.value }, i });
  });
  const secrets: SecretRef[] = arr(spec, 'secrets').map((s, i) => {
    const fieldName = str(s, 'fieldName') ?? '';
    const name = (catalog && catalogName(catalog, fieldName)) ?? fieldName;
    if (name !== fieldName) {
      changes.push({ path: `${path}.secrets[${i}].fieldName`, message: `secret field "${fieldName}" is now "${name}"` });
    }
    return { fieldName: name, secretName: str(s, 'secretName') ?? '', secretKey: str(s, 'secretKey') ?? '' };
  });
  const normalized: NormalizedResource = {
    type,
    description: str(spec, 'description'),
    params: [...byName.values()].sort((a, b) => a.i - b.i).map((x) => x.p),
    secrets,
  };
  if (type === 'git' && !normalized.params.some((p) => p.name === 'revision' && p.value.trim() !== '')) {
    notCarried.push({
      path: `${path}.params`,
      message:
        "git resource without a revision: Tekton ≤ 0.45 checked out master; now an empty revision means the remote's default branch. Add revision: master to keep the old behaviour.",
    });
  }
  return normalized;
}

/** Validator paths (`input.params[0].name`) as paths into the document (`<base>.params[0].name`). */
export function rebase(errors: FieldError[], base: string, metadataBase?: string): FieldError[] {
  return errors.map((e) => {
    const rest = e.path.replace(/^input\.?/, '');
    if (metadataBase && /^(name|namespace|labels)/.test(rest)) return { ...e, path: `${metadataBase}.${rest}` };
    return { ...e, path: rest ? `${base}.${rest}` : base };
  });
}

/** A DNS-1123 name made from parts, e.g. `build-source` for an inline spec's resource. */
export function objectName(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 253)
    .replace(/-$/, '');
}

function cleanMetadata(metadata: unknown, name: string, namespace: string | undefined): KubeObject['metadata'] {
  const labels = objAt(metadata, 'labels') as Record<string, string> | undefined;
  const annotations = { ...((objAt(metadata, 'annotations') as Record<string, string> | undefined) ?? {}) };
  delete annotations[lastApplied];
  return {
    name,
    ...(namespace ? { namespace } : {}),
    ...(labels && Object.keys(labels).length ? { labels } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

/** What a legacy run gave its inline pipelineSpec (`spec.params`, `spec.workspaces` at `path`). */
interface ImplicitDeclarations {
  path: string;
  params: unknown[];
  workspaces: unknown[];
}

interface MigratedPipeline {
  object: KubeObject;
  slots: Map<string, string>;
}

class Migrator {
  readonly errors: FieldError[] = [];
  readonly changes: MigrationNote[] = [];
  readonly notCarried: MigrationNote[] = [];
  readonly resources: PipelineResourceObject[] = [];
  readonly pipelines = new Map<string, MigratedPipeline>();
  readonly bindings = new Map<string, KubeObject>();
  readonly references: Migration['references'] = [];

  constructor(readonly namespace: string | undefined) {}

  /** A v1 pipeline spec with slots from a legacy one. */
  pipeline(name: string, metadata: unknown, legacySpec: Obj, path: string, implicit?: ImplicitDeclarations): MigratedPipeline {
    const spec: Obj = structuredClone(legacySpec);
    const slots = new Map<string, string>();
    const annotations: Record<string, string> = {};
    const params = arr(spec, 'params').filter(isObj);
    const workspaces = arr(spec, 'workspaces').filter(isObj);
    if (implicit) this.declareImplicit(name, implicit, params, workspaces);
    arr(legacySpec, 'resources').forEach((r, i) => {
      const rpath = `${path}.resources[${i}]`;
      const slot = str(r, 'name') ?? '';
      let type = str(r, 'type') ?? '';
      if (storageSubtypes.has(type)) type = 'storage';
      const catalog = resourceType(type);
      if (!slot || !catalog) {
        this.notCarried.push({ path: rpath, message: `resource "${slot}" of type "${type}" has no slot form: dropped` });
        return;
      }
      if (params.some((p) => p.name === slot)) {
        this.errors.push({ path: rpath, message: `the pipeline already has a param "${slot}"; rename it or the resource first` });
        return;
      }
      slots.set(slot, type);
      annotations[`${slotAnnotationPrefix}${slot}`] = type;
      params.push({
        name: slot,
        type: 'object',
        description: `The ${type} resource of slot "${slot}" (resources.tekton.dev).`,
        properties: Object.fromEntries(catalog.params.filter((p) => !p.secret).map((p) => [p.name, { type: 'string' }])),
      });
      const secretFields = catalog.params.filter((p) => p.secret).map((p) => p.name);
      for (const field of secretFields) {
        workspaces.push({
          name: secretWorkspaceName(slot, field),
          description: `Secret field ${field} of slot "${slot}", as file ${field}, when the resource has it.`,
          optional: true,
        });
      }
      this.changes.push({
        path: rpath,
        message:
          `resource "${slot}" (${type}) is now slot "${slot}": annotation ${slotAnnotationPrefix}${slot} and an object param` +
          (secretFields.length
            ? `; its secrets arrive in optional workspaces ${secretFields.map((f) => secretWorkspaceName(slot, f)).join(', ')}`
            : ''),
      });
      if (r && (r as Obj).optional === true) {
        this.notCarried.push({
          path: `${rpath}.optional`,
          message: `resource "${slot}" was optional; a slot must be bound or overridden for every run`,
        });
      }
    });
    delete spec.resources;
    if (params.length) spec.params = params;
    if (workspaces.length) spec.workspaces = workspaces;
    for (const section of ['tasks', 'finally'] as const) {
      const tasks = arr(spec, section);
      tasks.forEach((t, i) => {
        if (isObj(t)) this.task(t, slots, `${path}.${section}[${i}]`, tasks);
      });
    }
    const meta = cleanMetadata(metadata, name, this.namespace);
    const { description, params: p, workspaces: w, tasks, finally: fin, results, ...rest } = spec;
    const ordered = Object.fromEntries(
      Object.entries({ description, params: p, workspaces: w, tasks, finally: fin, results, ...rest }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const object: KubeObject = {
      apiVersion: apiVersion(kinds.Pipeline),
      kind: kinds.Pipeline.kind,
      metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), ...annotations } },
      spec: ordered,
    };
    if (!Object.keys(object.metadata.annotations ?? {}).length) delete object.metadata.annotations;
    const migrated = { object, slots };
    this.pipelines.set(name, migrated);
    return migrated;
  }

  /**
   * Params and workspaces a legacy PipelineRun gave its inline pipelineSpec
   * without the spec declaring them (Tekton propagated them implicitly): a
   * Pipeline of its own must declare them, or Tekton refuses it. A param is
   * declared with the run's value as its default, so the Pipeline runs as the
   * legacy run did.
   */
  private declareImplicit(pipeline: string, implicit: ImplicitDeclarations, params: Obj[], workspaces: Obj[]): void {
    implicit.params.forEach((p, i) => {
      const name = str(p, 'name');
      if (!name || params.some((d) => d.name === name)) return;
      const value = (p as Obj).value;
      const type = Array.isArray(value) ? 'array' : isObj(value) ? 'object' : 'string';
      params.push({
        name,
        type,
        ...(type === 'object'
          ? { properties: Object.fromEntries(Object.keys(value as Obj).map((k) => [k, { type: 'string' }])) }
          : {}),
        ...(value === undefined ? {} : { default: value }),
      });
      this.changes.push({
        path: `${implicit.path}.params[${i}]`,
        message: `param "${name}" reached the inline pipelineSpec only implicitly, from the run; Pipeline "${pipeline}" now declares it (type ${type}, default the run's value), as a Pipeline of its own must`,
      });
    });
    implicit.workspaces.forEach((w, i) => {
      const name = str(w, 'name');
      if (!name || workspaces.some((d) => d.name === name)) return;
      workspaces.push({ name });
      this.changes.push({
        path: `${implicit.path}.workspaces[${i}]`,
        message: `workspace "${name}" was bound by the run but not declared by its inline pipelineSpec; Pipeline "${pipeline}" now declares it, as a Pipeline of its own must: bind it when you run it`,
      });
    });
  }

  /**
   * A task's legacy `conditions` (removed in Tekton v1) are dropped and reported;
   * a reference to a ClusterTask (removed from Tekton) becomes a cluster
   * resolver reference to a Task of that name in the migration's namespace.
   */
  private legacyTaskFields(task: Obj, path: string, taskName: string): void {
    arr(task, 'conditions').forEach((c, i) => {
      this.notCarried.push({
        path: `${path}.conditions[${i}]`,
        message: `task "${taskName}": condition "${str(c, 'conditionRef') ?? ''}" is dropped: Tekton v1 has no conditions; guard the task with when expressions (when: [{input, operator, values}] or a CEL expression) instead`,
      });
    });
    delete task.conditions;
    const ref = objAt(task, 'taskRef');
    if (!ref || str(ref, 'kind') !== 'ClusterTask') return;
    const clusterTask = str(ref, 'name') ?? '';
    task.taskRef = {
      resolver: 'cluster',
      params: [
        { name: 'kind', value: 'task' },
        { name: 'name', value: clusterTask },
        ...(this.namespace ? [{ name: 'namespace', value: this.namespace }] : []),
      ],
    };
    const where = this.namespace
      ? `namespace "${this.namespace}"`
      : "the cluster resolver's default-namespace (no namespace was given)";
    this.changes.push({
      path: `${path}.taskRef`,
      message: `task "${taskName}": the reference to ClusterTask "${clusterTask}" is now a cluster resolver reference to Task "${clusterTask}" in ${where} (resolver references need Tekton's enable-api-fields beta, its default)`,
    });
    this.notCarried.push({
      path: `${path}.taskRef`,
      message: `task "${taskName}": ClusterTask is removed from Tekton, so "${clusterTask}" is not found as one any more: create it as a Task named "${clusterTask}" in ${where}, where the reference now resolves`,
    });
  }

  /** A pipeline task's resources become params referencing the slot's params; `from` becomes `runAfter`. */
  private task(task: Obj, slots: Map<string, string>, path: string, siblings: unknown[]): void {
    const taskName = str(task, 'name') ?? '';
    if (str(task, 'taskRef', 'bundle')) {
      this.notCarried.push({
        path: `${path}.taskRef.bundle`,
        message: `task "${taskName}": taskRef.bundle is gone in v1; use the bundles resolver`,
      });
    }
    this.legacyTaskFields(task, path, taskName);
    const resources = objAt(task, 'resources');
    if (!resources) return;
    delete task.resources;
    const params = arr(task, 'params').filter(isObj);
    const runAfter = arr(task, 'runAfter').filter((x): x is string => typeof x === 'string');
    for (const direction of ['inputs', 'outputs'] as const) {
      arr(resources, direction).forEach((r, i) => {
        const rpath = `${path}.resources.${direction}[${i}]`;
        const name = str(r, 'name') ?? '';
        const slot = str(r, 'resource') ?? '';
        const type = slots.get(slot);
        const catalog = type ? resourceType(type) : undefined;
        if (!catalog) {
          this.notCarried.push({
            path: rpath,
            message: `task "${taskName}": ${direction.slice(0, -1)} "${name}" uses "${slot}", which is not a slot of the pipeline: dropped`,
          });
          return;
        }
        const added = this.taskParams(catalog, name, slot, params, rpath, taskName);
        this.changes.push({
          path: rpath,
          message:
            `task "${taskName}": ${direction.slice(0, -1)} "${name}" (slot "${slot}") is now params ${added.join(', ')}; ` +
            `the Task must declare them and read $(params.${name}-<param>) where it read $(resources.${direction}.${name}.<param>)`,
        });
        if (direction === 'outputs') {
          this.notCarried.push({
            path: rpath,
            message: `task "${taskName}": output "${name}" cannot write back into the resource (an image digest, say); emit a Task result instead`,
          });
        }
        const from = arr(r, 'from').filter((x): x is string => typeof x === 'string');
        for (const before of from) {
          if (!siblings.some((s) => str(s, 'name') === before)) {
            this.notCarried.push({
              path: `${rpath}.from`,
              message: `task "${taskName}": from "${before}" names no task: dropped`,
            });
            continue;
          }
          if (!runAfter.includes(before)) runAfter.push(before);
          this.changes.push({
            path: `${rpath}.from`,
            message: `task "${taskName}": input "${name}" from "${before}" is now runAfter: ${before}`,
          });
        }
        if (from.length) {
          this.notCarried.push({
            path: `${rpath}.from`,
            message: `task "${taskName}": what "${from.join(', ')}" wrote into "${slot}" is not passed on (use a workspace or results); the task reads the resource as bound`,
          });
        }
      });
    }
    if (params.length) task.params = params;
    if (runAfter.length) task.runAfter = runAfter;
    if (usesTypesWithSecrets(resources, slots)) {
      this.notCarried.push({
        path: `${path}.resources`,
        message: `task "${taskName}": map the slot's secret workspaces to the Task's workspaces by hand (the Task must declare them)`,
      });
    }
  }

  private taskParams(catalog: ResourceTypeSpec, name: string, slot: string, params: Obj[], path: string, taskName: string) {
    const added: string[] = [];
    for (const p of catalog.params.filter((x) => !x.secret)) {
      const paramName = `${name}-${p.name}`;
      if (params.some((x) => x.name === paramName)) {
        this.notCarried.push({ path, message: `task "${taskName}": param "${paramName}" exists already: kept as it was` });
        continue;
      }
      params.push({ name: paramName, value: `$(params.${slot}.${p.name})` });
      added.push(paramName);
    }
    return added;
  }

  /** A legacy PipelineResource document, or an inline spec, as a PipelineResource to create. */
  resource(name: string, metadata: unknown, spec: unknown, path: string, metaPath: string): PipelineResourceObject | undefined {
    const n = normalizeLegacyResource(spec, path, this.changes, this.notCarried);
    const labels = objAt(metadata, 'labels') as Record<string, string> | undefined;
    const checked = validatePipelineResourceInput({
      namespace: this.namespace ?? 'default',
      name,
      type: n.type,
      description: n.description ?? null,
      params: n.params,
      secrets: n.secrets,
      labels: Object.entries(labels ?? {}).map(([key, value]) => ({ key, value })),
    });
    if (!checked.ok) {
      this.errors.push(...rebase(checked.errors, path, metaPath));
      return undefined;
    }
    const object = toPipelineResource(checked.value);
    if (!this.namespace) delete object.metadata.namespace;
    if (this.resources.some((r) => r.metadata.name === name)) {
      this.errors.push({ path: metaPath, message: `PipelineResource "${name}" is made twice` });
      return undefined;
    }
    this.resources.push(object);
    return object;
  }

  /** A legacy PipelineRun's resources become the ResourceBinding of its pipeline. */
  run(doc: Obj, path: string): void {
    const runName = str(doc, 'metadata', 'name') ?? str(doc, 'metadata', 'generateName')?.replace(/-$/, '') ?? 'run';
    const spec = objAt(doc, 'spec') ?? {};
    let pipelineName = str(spec, 'pipelineRef', 'name');
    let pipeline = pipelineName ? this.pipelines.get(pipelineName) : undefined;
    const pipelineSpec = objAt(spec, 'pipelineSpec');
    if (!pipelineName && pipelineSpec) {
      pipelineName = objectName(runName);
      pipeline = this.pipeline(pipelineName, {}, pipelineSpec, `${path}.spec.pipelineSpec`, {
        path: `${path}.spec`,
        params: arr(spec, 'params'),
        workspaces: arr(spec, 'workspaces'),
      });
      this.changes.push({
        path: `${path}.spec.pipelineSpec`,
        message: `the inline pipelineSpec is now Pipeline "${pipelineName}"`,
      });
    }
    if (!pipelineName) {
      this.errors.push({ path: `${path}.spec`, message: 'a PipelineRun needs pipelineRef.name or pipelineSpec' });
      return;
    }
    if (!pipeline) {
      this.notCarried.push({
        path: `${path}.spec.pipelineRef`,
        message: `Pipeline "${pipelineName}" is not among the documents: its slots were not checked; migrate it too`,
      });
    }
    const entries: { name: string; resourceRef: { name: string } }[] = [];
    arr(spec, 'resources').forEach((r, i) => {
      const rpath = `${path}.spec.resources[${i}]`;
      const slot = str(r, 'name') ?? '';
      const slotType = pipeline?.slots.get(slot);
      if (pipeline && !slotType) {
        this.notCarried.push({ path: rpath, message: `"${slot}" is not a slot of Pipeline "${pipelineName}": dropped` });
        return;
      }
      const refName = str(r, 'resourceRef', 'name');
      const inline = objAt(r, 'resourceSpec');
      if (refName) {
        entries.push({ name: slot, resourceRef: { name: refName } });
        const made = this.resources.find((x) => x.metadata.name === refName);
        if (made && slotType && made.spec?.type !== slotType) {
          this.errors.push({
            path: `${rpath}.resourceRef.name`,
            message: `${refName} is ${withArticle(String(made.spec?.type))} resource; slot "${slot}" takes ${slotType}`,
          });
        } else if (!made) {
          this.references.push({ slot, slotType, resource: refName, path: `${rpath}.resourceRef.name` });
        }
      } else if (inline) {
        const name = objectName(pipelineName ?? '', slot);
        if (slotType && (str(inline, 'type') ?? '') !== slotType && !storageSubtypes.has(str(inline, 'type') ?? '')) {
          this.errors.push({
            path: `${rpath}.resourceSpec.type`,
            message: `the spec has type ${str(inline, 'type')}; slot "${slot}" takes ${slotType}`,
          });
          return;
        }
        if (this.resource(name, {}, inline, `${rpath}.resourceSpec`, `${rpath}.name`)) {
          entries.push({ name: slot, resourceRef: { name } });
          this.changes.push({
            path: `${rpath}.resourceSpec`,
            message: `the inline resourceSpec of "${slot}" is now PipelineResource "${name}"`,
          });
        }
      } else {
        this.errors.push({ path: rpath, message: 'give resourceRef.name or resourceSpec' });
      }
    });
    for (const [slot, type] of pipeline?.slots ?? []) {
      if (!entries.some((e) => e.name === slot)) {
        this.notCarried.push({
          path: `${path}.spec.resources`,
          message: `slot "${slot}" (${type}) is not given by the run: bind it with bindResource`,
        });
      }
    }
    this.binding(pipelineName, entries, path);
    const leftOver = [
      ...arr(spec, 'params').map((p) => `param ${str(p, 'name')}`),
      ...arr(spec, 'workspaces').map((w) => `workspace ${str(w, 'name')}`),
      ...['serviceAccountName', 'serviceAccountNames', 'timeout', 'timeouts', 'podTemplate', 'taskRunSpecs']
        .filter((k) => spec[k] !== undefined)
        .map((k) => k),
    ];
    this.notCarried.push({
      path,
      message:
        `PipelineRun "${runName}" itself is not re-created (creating it would start a run): start runs with runPipeline` +
        (leftOver.length ? `, giving again: ${leftOver.join(', ')}` : ''),
    });
  }

  private binding(pipelineName: string, entries: { name: string; resourceRef: { name: string } }[], path: string): void {
    if (!entries.length) return;
    const existing = this.bindings.get(pipelineName);
    if (existing) {
      const current = arr(existing, 'spec', 'resources') as { name: string; resourceRef: { name: string } }[];
      for (const e of entries) {
        const there = current.find((c) => c.name === e.name);
        if (!there) current.push(e);
        else if (there.resourceRef.name !== e.resourceRef.name) {
          this.notCarried.push({
            path,
            message: `slot "${e.name}" is bound to ${there.resourceRef.name} by an earlier run; ${e.resourceRef.name} is an override for runPipeline`,
          });
        }
      }
      return;
    }
    this.bindings.set(pipelineName, {
      apiVersion: apiVersion(kinds.ResourceBinding),
      kind: kinds.ResourceBinding.kind,
      metadata: { name: pipelineName, ...(this.namespace ? { namespace: this.namespace } : {}) },
      spec: { pipelineRef: { name: pipelineName }, resources: [...entries] },
    });
    this.changes.push({ path, message: `the run's resources are now ResourceBinding "${pipelineName}"` });
  }
}

/** Why a document the migration does not rewrite is left out, and what to do with it. */
function leftOutDocument(kind: string, doc: Obj, namespace: string | undefined): string {
  const name = str(doc, 'metadata', 'name') ?? '';
  const resources = objAt(doc, 'spec')?.resources !== undefined;
  switch (kind) {
    case 'ClusterTask':
      return `ClusterTask "${name}" is left out: ClusterTask is removed from Tekton; create it as a Task named "${name}" in ${namespace ? `namespace "${namespace}"` : 'the namespace the cluster resolver reads'}, where migrated references to it resolve${resources ? ', with its resources declaration rewritten by hand to params and workspaces' : ''}`;
    case 'Task':
      return resources
        ? `Task "${name}" is left out: it declares spec.resources, which Tekton v1 Tasks do not have; rewrite them by hand as params (the N-<param> params the migrated pipeline passes) and workspaces`
        : `Task "${name}" is left out: this migration rewrites Pipelines, PipelineRuns and PipelineResources only; the Task has no resources and can be applied as it is`;
    case 'Condition':
      return `Condition "${name}" is left out: Tekton v1 has no conditions; guard the tasks that used it with when expressions`;
    default:
      return `${kind || 'a document without kind'} is not migrated: left out`;
  }
}

function usesTypesWithSecrets(resources: Obj, slots: Map<string, string>): boolean {
  return ['inputs', 'outputs'].some((d) =>
    arr(resources, d).some((r) => resourceType(slots.get(str(r, 'resource') ?? '') ?? '')?.params.some((p) => p.secret)),
  );
}

/**
 * Migrates a YAML stream (read with `readYaml`) of legacy Pipelines, PipelineRuns and PipelineResources.
 * Throws a ValidationError listing every problem that stops it.
 */
export function migrateLegacy(docs: YamlDocument[], options: { namespace?: string | null } = {}): Migration {
  const parsed: { doc: Obj; path: string }[] = [];
  const errors: FieldError[] = [];
  docs.forEach((d, i) => {
    const path = `documents[${i}]`;
    if ('error' in d) {
      errors.push({ path, message: d.error });
      return;
    }
    const value = d.value;
    if (value === null || value === undefined) return;
    if (!isObj(value)) errors.push({ path, message: 'not a Kubernetes object' });
    else parsed.push({ doc: value, path });
  });
  if (errors.length) throw new ValidationError(errors);
  const namespaces = new Set(parsed.map((p) => str(p.doc, 'metadata', 'namespace')).filter((n): n is string => !!n));
  if (!options.namespace && namespaces.size > 1) {
    throw new ValidationError([
      { path: 'namespace', message: `the documents name several namespaces (${[...namespaces].join(', ')}): give one` },
    ]);
  }
  if (options.namespace && !isNamespaceName(options.namespace)) {
    throw new ValidationError([{ path: 'namespace', message: 'must be a DNS-1123 label' }]);
  }
  const m = new Migrator(options.namespace ?? [...namespaces][0]);
  const kindOf = (d: Obj) => str(d, 'kind') ?? '';
  const byKind = (kind: string) => parsed.filter((p) => kindOf(p.doc) === kind);
  // Resources first (runs check types against them), then pipelines (runs need their slots), then runs.
  for (const { doc, path } of byKind('PipelineResource')) {
    const name = str(doc, 'metadata', 'name') ?? '';
    if (!dns1123Subdomain.test(name)) {
      m.errors.push({ path: `${path}.metadata.name`, message: 'must be a DNS-1123 name' });
      continue;
    }
    if (m.resource(name, doc.metadata, doc.spec, `${path}.spec`, `${path}.metadata`)) {
      m.changes.push({
        path,
        message: `PipelineResource "${name}" is created as it is (tekton.dev/v1alpha1 is served as before)`,
      });
    }
  }
  for (const { doc, path } of byKind('Pipeline')) {
    const name = str(doc, 'metadata', 'name') ?? '';
    if (!dns1123Subdomain.test(name)) {
      m.errors.push({ path: `${path}.metadata.name`, message: 'must be a DNS-1123 name' });
      continue;
    }
    const version = str(doc, 'apiVersion') ?? '';
    if (!legacyVersions.has(version)) {
      m.notCarried.push({
        path: `${path}.apiVersion`,
        message: `Pipeline "${name}" is ${version || 'unversioned'}, not legacy: left out`,
      });
      continue;
    }
    m.pipeline(name, doc.metadata, objAt(doc, 'spec') ?? {}, `${path}.spec`);
    m.changes.push({ path: `${path}.apiVersion`, message: `Pipeline "${name}": ${version} is now tekton.dev/v1` });
  }
  for (const { doc, path } of byKind('PipelineRun')) m.run(doc, path);
  for (const { doc, path } of parsed) {
    const kind = kindOf(doc);
    if (['PipelineResource', 'Pipeline', 'PipelineRun'].includes(kind)) continue;
    m.notCarried.push({ path, message: leftOutDocument(kind, doc, m.namespace) });
  }
  if (!parsed.some((p) => ['Pipeline', 'PipelineRun'].includes(kindOf(p.doc)))) {
    m.errors.push({ path: 'yaml', message: 'no Pipeline or PipelineRun to migrate' });
  }
  if (m.errors.length) throw new ValidationError(m.errors);
  return {
    namespace: m.namespace,
    resources: m.resources,
    pipelines: [...m.pipelines.values()].map((p) => p.object),
    bindings: [...m.bindings.values()],
    references: m.references,
    changes: m.changes,
    notCarried: m.notCarried,
  };
}

/** Every object of a migration, in the order they are created: resources, pipelines, then bindings. */
export function migratedObjects(m: Migration): KubeObject[] {
  return [...m.resources, ...m.pipelines, ...m.bindings];
}
