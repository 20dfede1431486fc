import { stringify } from 'yaml';
import type { Context } from '../context.js';
import { ConflictError, ForbiddenError, mapKubeError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { KubeApiError } from '../kube/KubeApiError.js';
import { type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import {
  createAllOrNothing,
  type ImportedDocument,
  type ImportStatus,
  importPipelineResources,
} from '../resources/importResources.js';
import { type MigrationNote, migratedObjects, migrateLegacy, rebase } from '../resources/migrate.js';
import {
  type PipelineResourceObject,
  params as resourceParams,
  secrets as resourceSecrets,
} from '../resources/PipelineResourceObject.js';
import { readYaml } from '../resources/readYaml.js';
import {
  buildPipelineRun,
  checkPlainParams,
  currentParamsHash,
  type PipelineRunManifest,
  type ResolvedSlot,
  resolveSlot,
  runInlineResources,
  type SlotFilling,
  type SlotOverride,
  slotSources,
  staleUsages,
  withArticle,
} from '../resources/resolve.js';
import { maxRecordedResources, readPipelineSlots, runStatus } from '../resources/tekton.js';
import { dns1123Subdomain, type FieldError, validatePipelineResourceInput } from '../resources/validation.js';
import { builder } from './builder.js';
import { assumedSize, kubeWrites, limitSize, listBounds } from './cost.js';
import { FieldErrorRef } from './errors.js';
import { pageSize } from './pagination.js';
import { ParamInput, SecretRefInput } from './pipelineResourceMutations.js';
import { objectId, PipelineResourceRef, PipelineRunRef } from './refs.js';
import { bindingEntries, pipelineBinding } from './resourceBinding.js';
import { dryRunOptions, kubeWrite, readForWrite, writeQuery } from './writes.js';

// ─── Inputs ──────────────────────────────────────────────────────────────────

const InlineResourceSpecInput = builder.inputType('InlineResourceSpecInput', {
  description: 'A resource given for one run only, as legacy `resourceSpec` allowed; checked like a new PipelineResource.',
  fields: (t) => ({
    type: t.string({ required: true, description: 'The resource type; must be the slot’s.' }),
    params: t.field({ type: [ParamInput], required: false, description: 'Its plain params.' }),
    secrets: t.field({ type: [SecretRefInput], required: false, description: 'Where its secret params come from.' }),
  }),
});

const SlotOverrideInput = builder.inputType('SlotOverrideInput', {
  description: 'Fills a slot for this run instead of its binding: give exactly one of `resource` and `resourceSpec`.',
  fields: (t) => ({
    slot: t.string({ required: true, description: 'One of the pipeline’s slots.' }),
    resource: t.string({ required: false, description: 'Another PipelineResource of the namespace, of the slot’s type.' }),
    resourceSpec: t.field({ type: InlineResourceSpecInput, required: false, description: 'An inline resource spec.' }),
  }),
});

const RunPipelineInput = builder.inputType('RunPipelineInput', {
  description: 'Which pipeline to run, and what to change for this run.',
  fields: (t) => ({
    namespace: t.string({ required: true, description: 'The namespace of the pipeline, its binding, resources and the run.' }),
    pipeline: t.string({ required: true, description: 'The Tekton v1 Pipeline to run.' }),
    overrides: t.field({
      type: [SlotOverrideInput],
      required: false,
      description: 'Slots filled otherwise than by the pipeline’s ResourceBinding, for this run only.',
    }),
    params: t.field({
      type: [ParamInput],
      required: false,
      description: 'Plain Tekton params of the run, passed as given after the slot params; none may be named like a slot.',
    }),
    generateName: t.string({
      required: false,
      description: 'The prefix Kubernetes names the run from; `<pipeline>-` when not given.',
    }),
  }),
});

// ─── runPipeline ─────────────────────────────────────────────────────────────

interface RunPipelineOutcome {
  run: KubeObject;
  yaml: string;
  dryRun: boolean;
}

const RunPipelineSuccess = builder.objectRef<RunPipelineOutcome>('RunPipelineSuccess').implement({
  description: '`runPipeline` succeeded: the PipelineRun created (or, for a dry run, the one it would create).',
  fields: (t) => ({
    run: t.field({
      type: PipelineRunRef,
      description:
        'The PipelineRun as Kubernetes stored it; for a dry run, as the apiserver’s dry run returned it (its name is not kept).',
      resolve: (o) => o.run,
    }),
    yaml: t.exposeString('yaml', {
      description: 'The PipelineRun as sent to Kubernetes, as YAML: `kubectl create -f` starts the same run.',
    }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when nothing was created.' }),
  }),
});

/** Asks the apiserver for an object's metadata only: a Secret read this way carries no values. */
export const metadataOnly = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * Reads an object of the core API as the caller. Secrets are read as
 * metadata only (PartialObjectMetadata), so their values never reach the gateway.
 */
async function readCore(
  ctx: Context,
  plural: 'secrets' | 'configmaps',
  namespace: string,
  name: string,
  options: { metadataOnly: boolean },
): Promise<KubeObject | null> {
  const kind = plural === 'secrets' ? 'Secret' : 'ConfigMap';
  try {
    return await ctx.kube.request<KubeObject>(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`,
      options.metadataOnly ? { accept: metadataOnly } : {},
    );
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return null;
    if (err instanceof KubeApiError && (err.status === 403 || err.status === 401)) {
      throw new ForbiddenError(`Not allowed to read ${kind} ${namespace}/${name}, which the run would use`);
    }
    throw mapKubeError(err, { kind, namespace, name });
  }
}

/** Every Secret and ConfigMap the slots use must exist, and a ConfigMap must hold the keys asked for. */
async function checkReferences(ctx: Context, namespace: string, slots: readonly ResolvedSlot[]): Promise<void> {
  const secretNames = [...new Set(slots.flatMap((s) => s.secretNames.map((x) => x.name)))];
  const configMaps = slots.flatMap((s) => (s.configMap ? [s.configMap] : []));
  const [secrets, maps] = await Promise.all([
    Promise.all(secretNames.map((n) => readCore(ctx, 'secrets', namespace, n, { metadataOnly: true }))),
    // A ConfigMap's keys are needed only when some are asked for; its data is not secret.
    Promise.all(configMaps.map((c) => readCore(ctx, 'configmaps', namespace, c.name, { metadataOnly: c.keys.length === 0 }))),
  ]);
  const missingSecret = secretNames.find((_, i) => !secrets[i]);
  if (missingSecret) throw new NotFoundError('Secret', namespace, missingSecret);
  const missingMap = configMaps.find((_, i) => !maps[i]);
  if (missingMap) throw new NotFoundError('ConfigMap', namespace, missingMap.name);
  const errors: FieldError[] = [];
  configMaps.forEach((c, i) => {
    const held = new Set([...Object.keys(maps[i]?.data ?? {}), ...Object.keys(maps[i]?.binaryData ?? {})]);
    for (const key of c.keys.filter((k) => !held.has(k))) {
      errors.push({ path: c.path, message: `ConfigMap ${c.name} has no key "${key}"` });
    }
  });
  if (errors.length) throw new ValidationError(errors);
}

/** The pipeline's ResourceBinding, read fresh as the caller, with its errors mapped. */
async function bindingOf(ctx: Context, namespace: string, pipeline: string): Promise<KubeObject | undefined> {
  return (
    (await kubeWrite(ctx, { kind: 'ResourceBinding', namespace, name: pipeline }, () =>
      pipelineBinding(ctx, namespace, pipeline),
    )) ?? undefined
  );
}

function checkNames(input: { namespace: string; pipeline: string; generateName?: string | null }): FieldError[] {
  const errors: FieldError[] = [];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(input.namespace) || input.namespace.length > 63) {
    errors.push({ path: 'input.namespace', message: 'must be a DNS-1123 label' });
  }
  if (!dns1123Subdomain.test(input.pipeline) || input.pipeline.length > 253) {
    errors.push({ path: 'input.pipeline', message: 'must be a DNS-1123 name' });
  }
  if (input.generateName != null && !/^[a-z0-9]([-a-z0-9.]*)?$/.test(input.generateName)) {
    errors.push({
      path: 'input.generateName',
      message: 'must be lower-case letters, digits, "-" and ".", starting alphanumeric',
    });
  }
  return errors;
}

interface RunPipelineArgs {
  namespace: string;
  pipeline: string;
  generateName?: string | null;
  overrides?: readonly SlotOverride[] | null;
  params?: readonly { name: string; value: string }[] | null;
}

/**
 * Everything `runPipeline` checks, read as the caller, and the PipelineRun it
 * makes: the pipeline's slots, filled from overrides or its binding, each
 * resolved (src/resources/resolve.ts), the Secrets and ConfigMaps they use.
 */
async function planRun(ctx: Context, input: RunPipelineArgs): Promise<PipelineRunManifest> {
  const nameErrors = checkNames(input);
  if (nameErrors.length) throw new ValidationError(nameErrors);
  const { namespace } = input;
  const pipeline = await readForWrite(ctx, 'Pipeline', namespace, input.pipeline);
  if (!pipeline) throw new NotFoundError('Pipeline', namespace, input.pipeline);
  const { items: slots, omitted } = readPipelineSlots(pipeline);
  if (omitted) {
    // The run would record more resources than a run may (docs/security.md); refused before anything is read or written.
    throw new ValidationError([
      {
        path: 'input.pipeline',
        message: `pipeline ${input.pipeline} declares ${slots.length + omitted} slots; a run records at most ${maxRecordedResources} resources`,
      },
    ]);
  }
  const binding = slots.length ? await bindingOf(ctx, namespace, input.pipeline) : undefined;
  const bound = new Map((binding ? bindingEntries(binding) : []).map((e) => [e.slot, e.resourceName]));
  const { sources, errors } = slotSources(slots, bound, input.overrides ?? []);
  errors.push(...checkPlainParams(input.params ?? [], slots));

  const fillings: SlotFilling[] = [];
  for (const s of sources.filter((x) => x.kind === 'inline')) {
    const spec = s.spec;
    if (spec.type !== s.slot.type) {
      errors.push({
        path: `${s.path}.type`,
        message: `the spec has type ${spec.type}; slot "${s.slot.name}" takes ${s.slot.type}`,
      });
      continue;
    }
    const checked = validatePipelineResourceInput({
      namespace,
      name: 'inline',
      type: spec.type,
      params: spec.params ?? [],
      secrets: spec.secrets ?? [],
    });
    if (!checked.ok) {
      errors.push(...rebase(checked.errors, s.path));
      continue;
    }
    fillings.push({
      slot: s.slot.name,
      slotType: s.slot.type,
      path: s.path,
      type: spec.type,
      params: spec.params ?? [],
      secrets: spec.secrets ?? [],
    });
  }
  const named = sources.filter((x) => x.kind === 'resource');
  const resources = await Promise.all(
    named.map((s) => readForWrite<PipelineResourceObject>(ctx, 'PipelineResource', namespace, s.name)),
  );
  if (errors.length) throw new ValidationError(errors);
  named.forEach((s, i) => {
    const r = resources[i];
    if (!r) throw new NotFoundError('PipelineResource', namespace, s.name);
    fillings.push({
      slot: s.slot.name,
      slotType: s.slot.type,
      path: s.path,
      type: String(r.spec?.type ?? ''),
      params: resourceParams(r),
      secrets: resourceSecrets(r),
      resource: { name: r.metadata.name, resourceVersion: r.metadata.resourceVersion ?? '' },
    });
  });

  const resolved: ResolvedSlot[] = [];
  for (const f of fillings) {
    const r = resolveSlot(f);
    errors.push(...r.errors);
    if (r.slot) resolved.push(r.slot);
  }
  if (errors.length) throw new ValidationError(errors);
  await checkReferences(ctx, namespace, resolved);

  return buildPipelineRun({
    namespace,
    pipeline: input.pipeline,
    generateName: input.generateName ?? `${input.pipeline}-`,
    slots: resolved,
    params: input.params ?? [],
  });
}

builder.mutationFields((t) => ({
  runPipeline: t.field({
    directives: kubeWrites,
    type: RunPipelineSuccess,
    description:
      'Starts a pipeline as the caller: resolves its ResourceBinding plus `overrides` into an ordinary Tekton v1 PipelineRun ' +
      '(each slot an object param, each secret a workspace bound to its Secret, a `config` resource a workspace bound to its ' +
      'ConfigMap; docs/bindings.md) that records the resources it used. Refused, with nothing created, when a slot is neither ' +
      'bound nor overridden, a resource’s type is not its slot’s, a required param is missing (ValidationError; paths ' +
      '`slots.<slot>…` for bound resources, `input.overrides[i]…` for overrides), or a resource, Secret or ConfigMap it uses ' +
      'does not exist (NotFoundError; Secrets are checked as the caller, by metadata only).',
    errors: {
      types: [ValidationError, NotFoundError, ConflictError, ForbiddenError, UnavailableError],
      directResult: true,
    },
    args: { input: t.arg({ type: RunPipelineInput, required: true }), dryRun: t.arg.boolean(dryRunOptions) },
    resolve: async (_root, { input, dryRun }, ctx) => {
      const body = await planRun(ctx, input);
      const { namespace } = input;
      const run = await kubeWrite(
        ctx,
        {
          kind: 'PipelineRun',
          namespace,
          name: body.metadata.generateName,
          notFound: { kind: 'Namespace', namespace: '', name: namespace },
        },
        () =>
          ctx.kube.request<KubeObject>('POST', resourcePath(kinds.PipelineRun, namespace), { body, query: writeQuery(dryRun) }),
      );
      return { run, yaml: stringify(body), dryRun: !!dryRun };
    },
  }),
}));

// ─── What a PipelineRun passes on ────────────────────────────────────────────

const KeyValueRef = builder.objectRef<{ name: string; value: string }>('PipelineRunParamProperty').implement({
  description: 'One key of an object param.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The key, e.g. `url`.' }),
    value: t.exposeString('value', { description: 'Its value.' }),
  }),
});

interface RunParam {
  name: string;
  value: unknown;
}

const RunParamRef = builder.objectRef<RunParam>('PipelineRunParam').implement({
  description: 'A param the run passes to its pipeline (`spec.params`); exactly one of the value fields is set.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The param name; for a slot, the slot’s name.' }),
    value: t.string({
      nullable: true,
      description: 'The value of a string param; null otherwise.',
      resolve: (p) => (typeof p.value === 'string' ? p.value : null),
    }),
    values: t.stringList({
      nullable: true,
      description: 'The values of an array param; null otherwise.',
      directives: assumedSize(listBounds.tektonParams),
      resolve: (p) => (Array.isArray(p.value) ? p.value.map(String) : null),
    }),
    properties: t.field({
      type: [KeyValueRef],
      nullable: true,
      description: 'The keys of an object param (a slot’s resolved resource params), in key order; null otherwise.',
      directives: assumedSize(listBounds.resourceParams),
      resolve: (p) =>
        p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value)
          ? Object.entries(p.value as Record<string, unknown>)
              .map(([name, value]) => ({ name, value: String(value ?? '') }))
              .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          : null,
    }),
  }),
});

const KeyToPathRef = builder.objectRef<{ key: string; path: string }>('WorkspaceItem').implement({
  description: 'A key of a Secret or ConfigMap, and the file it appears as in the workspace.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key in the Secret or ConfigMap.' }),
    path: t.exposeString('path', { description: 'The file name in the workspace.' }),
  }),
});

const RunWorkspaceRef = builder.objectRef<unknown>('PipelineRunWorkspace').implement({
  description: 'A workspace the run binds (`spec.workspaces`). References only: never a Secret’s value.',
  fields: (t) => ({
    name: t.string({ description: 'The workspace name, e.g. `repo-authToken`.', resolve: (w) => str(w, 'name') ?? '' }),
    secretName: t.string({
      nullable: true,
      description: 'The Secret it is bound to; null when not a Secret.',
      resolve: (w) => str(w, 'secret', 'secretName') ?? null,
    }),
    configMapName: t.string({
      nullable: true,
      description: 'The ConfigMap it is bound to; null when not a ConfigMap.',
      resolve: (w) => str(w, 'configMap', 'name') ?? null,
    }),
    items: t.field({
      type: [KeyToPathRef],
      description: 'The keys of the Secret or ConfigMap it mounts, as files; empty when it mounts every key.',
      directives: assumedSize(listBounds.small),
      resolve: (w) =>
        [...arr(w, 'secret', 'items'), ...arr(w, 'configMap', 'items')].map((i) => ({
          key: str(i, 'key') ?? '',
          path: str(i, 'path') ?? '',
        })),
    }),
  }),
});

const InlineUsageRef = builder
  .objectRef<{ slot: string; type: string | undefined; paramsHash: string | undefined }>('InlineResourceUsage')
  .implement({
    description: 'An inline resource spec a run used (a `runPipeline` override); it has no name or version.',
    fields: (t) => ({
      slot: t.exposeString('slot', { description: 'The slot it filled.' }),
      type: t.string({ nullable: true, description: 'Its resource type.', resolve: (u) => u.type ?? null }),
      paramsHash: t.string({
        nullable: true,
        description: 'A hash of the resolved params.',
        resolve: (u) => u.paramsHash ?? null,
      }),
    }),
  });

builder.objectFields(PipelineRunRef, (t) => ({
  params: t.field({
    type: [RunParamRef],
    description: 'The params it passes to the pipeline (`spec.params`), in stored order.',
    directives: assumedSize(listBounds.tektonParams),
    resolve: (r) =>
      arr(r, 'spec', 'params').map((p) => ({ name: str(p, 'name') ?? '', value: (p as { value?: unknown })?.value })),
  }),
  workspaces: t.field({
    type: [RunWorkspaceRef],
    description: 'The workspaces it binds (`spec.workspaces`), in stored order.',
    directives: assumedSize(listBounds.tasks),
    resolve: (r) => arr(r, 'spec', 'workspaces'),
  }),
  inlineResources: t.field({
    type: [InlineUsageRef],
    description: 'The inline resource specs it used (recorded in `resources.tekton.dev/resources` with `inline: true`).',
    directives: assumedSize(listBounds.recordedResources),
    resolve: runInlineResources,
  }),
}));

// ─── Stale runs ──────────────────────────────────────────────────────────────

builder.objectField(PipelineResourceRef, 'staleRuns', (t) =>
  t.field({
    type: [PipelineRunRef],
    description:
      'Runs that used an older version of this resource (their recorded resourceVersion is not the current one) and are ' +
      'unfinished (PENDING or RUNNING) or were created within the last `withinHours`; newest first.',
    directives: limitSize,
    args: {
      limit: t.arg.int({ required: false, defaultValue: 20, description: `At most ${pageSize.max}.` }),
      withinHours: t.arg.int({
        required: false,
        defaultValue: 24,
        description: 'How far back finished runs count, in hours; unfinished runs always count.',
      }),
      changedParamsOnly: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Only runs whose resolved params differ from the resource’s now (a label change alone does not count).',
      }),
    },
    resolve: async (o, args, ctx) => {
      const limit = Math.max(0, Math.min(args.limit ?? 20, pageSize.max));
      const since = Date.now() - Math.max(0, args.withinHours ?? 24) * 3_600_000;
      const current = args.changedParamsOnly ? currentParamsHash(o) : undefined;
      const runs = await ctx.loaders.byIndex('PipelineRun', 'byResource', objectId(o));
      return runs
        .filter((r) => {
          const stale = staleUsages(r, o);
          if (!stale.length) return false;
          if (args.changedParamsOnly && !stale.some((u) => u.paramsHash !== current)) return false;
          const status = runStatus(r);
          return status === 'PENDING' || status === 'RUNNING' || Date.parse(r.metadata.creationTimestamp ?? '') >= since;
        })
        .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''))
        .slice(0, limit);
    },
  }),
);

// ─── Migration and import ────────────────────────────────────────────────────

const MigrationNoteRef = builder.objectRef<MigrationNote>('MigrationNote').implement({
  description: 'Something a migration changed, or could not carry over, and where in the input.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Where in the input, e.g. `documents[0].spec.tasks[1].resources.inputs[0]`.' }),
    message: t.exposeString('message', { description: 'What, for people.' }),
  }),
});

const MigratedObjectRef = builder.objectRef<{ object: KubeObject; created: boolean }>('MigratedObject').implement({
  description: 'An object a migration makes.',
  fields: (t) => ({
    kind: t.string({ description: '`PipelineResource`, `Pipeline` or `ResourceBinding`.', resolve: (o) => o.object.kind ?? '' }),
    name: t.string({ description: 'Its name.', resolve: (o) => o.object.metadata.name }),
    namespace: t.string({
      nullable: true,
      description: 'Its namespace; null when neither given nor in the documents.',
      resolve: (o) => o.object.metadata.namespace ?? null,
    }),
    yaml: t.string({ description: 'The object, as YAML.', resolve: (o) => stringify(o.object) }),
    created: t.exposeBoolean('created', { description: 'Whether it was created (`apply: true`).' }),
  }),
});

interface MigrationOutcome {
  objects: { object: KubeObject; created: boolean }[];
  changes: MigrationNote[];
  notCarried: MigrationNote[];
  applied: boolean;
}

const MigrateSuccess = builder.objectRef<MigrationOutcome>('MigrateLegacyPipelineSuccess').implement({
  description: '`migrateLegacyPipeline` succeeded: what it makes (and, with `apply`, made), with a report.',
  fields: (t) => ({
    yaml: t.string({
      description: 'Every object, as one YAML stream in creation order: PipelineResources, Pipelines, ResourceBindings.',
      resolve: (m) => m.objects.map((o) => stringify(o.object)).join('---\n'),
    }),
    objects: t.field({
      type: [MigratedObjectRef],
      description: 'Every object, in creation order.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.objects,
    }),
    changes: t.field({
      type: [MigrationNoteRef],
      description: 'What was rewritten, and how.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.changes,
    }),
    notCarried: t.field({
      type: [MigrationNoteRef],
      description: 'What could not be carried over, or behaves differently now: act on these by hand.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.notCarried,
    }),
    applied: t.exposeBoolean('applied', { description: 'Whether the objects were created (all of them).' }),
  }),
});

/** A create failure as the error the caller sees, saying what was undone. */
function applyFailure(err: unknown, obj: KubeObject, undone: string): Error {
  const mapped = mapKubeError(err, {
    kind: obj.kind ?? '',
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    notFound: { kind: 'Namespace', namespace: '', name: obj.metadata.namespace ?? '' },
  });
  if (mapped instanceof ValidationError) {
    return new ValidationError([
      ...mapped.fieldErrors.map((e) => ({ ...e, path: e.path.replace(/^input/, `${obj.kind} ${obj.metadata.name}`) })),
      ...(undone ? [{ path: 'apply', message: undone }] : []),
    ]);
  }
  if (undone) mapped.message = `${mapped.message}; ${undone}`;
  return mapped;
}

const ImportStatusEnum = builder.enumType('ImportStatus', {
  description: 'What became of one document of a bulk import.',
  values: {
    VALID: { description: 'Valid; not written (a dry run, or another document failed).' },
    INVALID: { description: 'Refused by the validator or the apiserver; `errors` says why.' },
    CREATED: { description: 'Created.' },
    ROLLED_BACK: { description: 'Created, then deleted again because a later document failed.' },
  } satisfies Record<ImportStatus, { description: string }>,
});

const ImportedDocumentRef = builder.objectRef<ImportedDocument>('ImportedDocument').implement({
  description: 'One document of a bulk import.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Its position in the YAML stream, from 0.' }),
    name: t.string({ nullable: true, description: 'Its `metadata.name`, when it has one.', resolve: (d) => d.name ?? null }),
    namespace: t.string({ nullable: true, description: 'The namespace it goes to.', resolve: (d) => d.namespace ?? null }),
    status: t.field({ type: ImportStatusEnum, resolve: (d) => d.status, description: 'What became of it.' }),
    errors: t.field({
      type: [FieldErrorRef],
      description:
        'Why it is INVALID, every problem with its path (e.g. `documents[2].spec.params[0].name`); empty when it is not.',
      directives: assumedSize(listBounds.perDocument),
      resolve: (d) => d.errors,
    }),
    notes: t.field({
      type: [MigrationNoteRef],
      description: 'Legacy spellings rewritten (e.g. `URL` to `url`), and legacy behaviour not kept.',
      directives: assumedSize(listBounds.perDocument),
      resolve: (d) => d.notes,
    }),
    resource: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description: 'The resource as created; null unless CREATED.',
      resolve: (d) => d.created ?? null,
    }),
  }),
});

const ImportSuccess = builder
  .objectRef<{ applied: boolean; dryRun: boolean; documents: ImportedDocument[] }>('ImportPipelineResourcesSuccess')
  .implement({
    description: '`importPipelineResources` ran: a report per document. Either every document was created, or none.',
    fields: (t) => ({
      applied: t.exposeBoolean('applied', { description: 'Whether every document was created; false means none was.' }),
      dryRun: t.exposeBoolean('dryRun', { description: 'Whether this was a dry run.' }),
      documents: t.field({
        type: [ImportedDocumentRef],
        description: 'Per document, in order.',
        directives: assumedSize(listBounds.report),
        resolve: (r) => r.documents,
      }),
    }),
  });

const yamlLimitsDoc =
  'at most `YAML_MAX_BYTES` bytes, `YAML_MAX_DEPTH` levels of nesting and `YAML_MAX_ALIASES` alias expansions, read within `YAML_PARSE_TIMEOUT_MS`; past a limit, a ValidationError at path `yaml` and nothing is written.';

builder.mutationFields((t) => ({
  migrateLegacyPipeline: t.field({
    directives: kubeWrites,
    type: MigrateSuccess,
    description:
      'Migrates Tekton v1alpha1/v1beta1 manifests that use PipelineResources (a Pipeline, PipelineRuns, PipelineResources) ' +
      'to a v1 Pipeline with slots, its ResourceBinding and the PipelineResources it needs (docs/bindings.md). With ' +
      '`apply`, creates them all or none, as the caller.',
    errors: {
      types: [ValidationError, NotFoundError, ConflictError, ForbiddenError, UnavailableError],
      directResult: true,
    },
    args: {
      yaml: t.arg.string({
        required: true,
        description: `One or more YAML documents; ${yamlLimitsDoc}`,
      }),
      apply: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Create the objects (all or none); otherwise only report.',
      }),
      namespace: t.arg.string({ required: false, description: 'The namespace of every object; overrides the documents’.' }),
    },
    resolve: async (_root, args, ctx) => {
      const m = migrateLegacy(await readYaml(args.yaml, ctx.yaml), { namespace: args.namespace });
      const objects = migratedObjects(m);
      const outcome = { changes: m.changes, notCarried: m.notCarried };
      if (!args.apply) {
        if (m.references.length) {
          m.notCarried.push(
            ...m.references.map((r) => ({ path: r.path, message: `PipelineResource "${r.resource}" must exist when applied` })),
          );
        }
        return { ...outcome, objects: objects.map((object) => ({ object, created: false })), applied: false };
      }
      const namespace = m.namespace;
      if (!namespace) throw new ValidationError([{ path: 'namespace', message: 'give the namespace to create the objects in' }]);
      const errors: FieldError[] = [];
      const refs = await Promise.all(
        m.references.map((r) => readForWrite<PipelineResourceObject>(ctx, 'PipelineResource', namespace, r.resource)),
      );
      m.references.forEach((r, i) => {
        const found = refs[i];
        if (!found) errors.push({ path: r.path, message: `PipelineResource ${r.resource} does not exist in ${namespace}` });
        else if (r.slotType && found.spec?.type !== r.slotType) {
          errors.push({
            path: r.path,
            message: `${r.resource} is ${withArticle(String(found.spec?.type))} resource; slot "${r.slot}" takes ${r.slotType}`,
          });
        }
      });
      if (errors.length) throw new ValidationError(errors);
      const result = await createAllOrNothing(ctx.kube, objects);
      if (result.failures.size) {
        const failures = [...result.failures].map(([i, err]) => applyFailure(err, objects[i] as KubeObject, ''));
        if (failures.every((f) => f instanceof ValidationError) && failures.length > 1) {
          throw new ValidationError(failures.flatMap((f) => (f as ValidationError).fieldErrors));
        }
        const [i, err] = [...result.failures][0] as [number, unknown];
        const undone = [
          result.rolledBack.length
            ? `nothing is left: ${result.rolledBack.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')} created and deleted again`
            : 'nothing was created',
          ...result.leftBehind.map((l) => `${l.object.kind} ${l.object.metadata.name} could not be deleted: delete it by hand`),
        ].join('; ');
        throw applyFailure(err, objects[i] as KubeObject, undone);
      }
      return { ...outcome, objects: result.created.map((object) => ({ object, created: true })), applied: true };
    },
  }),

  importPipelineResources: t.field({
    directives: kubeWrites,
    type: ImportSuccess,
    description:
      'Creates many legacy PipelineResources from YAML documents, all or none, as the caller. Every document is checked ' +
      'first (legacy spellings normalised, then the project’s validator, then a server-side dry run); when any fails, ' +
      'nothing is written and the report says which and why.',
    errors: { types: [ValidationError, UnavailableError], directResult: true },
    args: {
      yaml: t.arg.string({
        required: true,
        description: `PipelineResource documents, separated by \`---\`; ${yamlLimitsDoc}`,
      }),
      namespace: t.arg.string({ required: false, description: 'The namespace of every document; overrides theirs.' }),
      dryRun: t.arg.boolean(dryRunOptions),
    },
    resolve: async (_root, args, ctx) => {
      const report = await importPipelineResources(ctx.kube, await readYaml(args.yaml, ctx.yaml), {
        dryRun: args.dryRun,
        namespace: args.namespace,
      });
      return { ...report, dryRun: !!args.dryRun };
    },
  }),
}));
