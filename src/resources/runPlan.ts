import { mapKubeError, NotFoundError, ValidationError } from '../errors.js';
import type { KubeClient } from '../kube/KubeClient.js';
import { type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { readAsCaller, readCoreAsCaller, writeQuery } from './asCaller.js';
import { bindingEntries, pipelineBinding } from './bindings.js';
import { rebase } from './migrate.js';
import { type PipelineResourceObject, params as resourceParams, secrets as resourceSecrets } from './PipelineResourceObject.js';
import {
  buildPipelineRun,
  checkPlainParams,
  type PipelineRunManifest,
  type ResolvedSlot,
  resolveSlot,
  type SlotFilling,
  type SlotOverride,
  slotSources,
  slotWorkspaceNames,
} from './resolve.js';
import {
  checkRunParams,
  checkTaskRunTemplate,
  checkTimeouts,
  declaredParams,
  type RunParamInput,
  type TaskRunTemplateInput,
  type TimeoutsInput,
} from './runInputs.js';
import { checkRunWorkspaces, type WorkspaceInput, type WorkspaceReferences } from './runWorkspaces.js';
import { maxRecordedResources, readPipelineSlots } from './tekton.js';
import { dns1123Subdomain, type FieldError, validatePipelineResourceInput } from './validation.js';

/**
 * `runPipeline` (docs/bindings.md, "Running a pipeline"): everything it checks,
 * read with the caller's client so RBAC decides, and the PipelineRun it makes.
 * The pure parts (slot sources, resolution, the manifest) are in resolve.ts.
 */

export interface RunPipelineArgs {
  namespace: string;
  pipeline: string;
  generateName?: string | null;
  overrides?: readonly SlotOverride[] | null;
  params?: readonly RunParamInput[] | null;
  workspaces?: readonly WorkspaceInput[] | null;
  timeouts?: TimeoutsInput | null;
  taskRunTemplate?: TaskRunTemplateInput | null;
}

/** The names in the input, checked before anything is read. */
export function checkRunNames(input: { namespace: string; pipeline: string; generateName?: string | null }): FieldError[] {
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

/**
 * Every Secret and ConfigMap the slots and the caller's workspaces use must
 * exist, and a ConfigMap must hold the keys asked for.
 */
async function checkReferences(
  kube: KubeClient,
  namespace: string,
  slots: readonly ResolvedSlot[],
  workspaces: WorkspaceReferences,
): Promise<void> {
  const secretNames = [
    ...new Set([...slots.flatMap((s) => s.secretNames.map((x) => x.name)), ...workspaces.secrets.map((x) => x.name)]),
  ];
  const configMaps = [...slots.flatMap((s) => (s.configMap ? [s.configMap] : [])), ...workspaces.configMaps];
  const [secrets, maps] = await Promise.all([
    Promise.all(secretNames.map((n) => readCoreAsCaller(kube, 'Secret', namespace, n, { metadataOnly: true }))),
    // A ConfigMap's keys are needed only when some are asked for; its data is not secret.
    Promise.all(
      configMaps.map((c) => readCoreAsCaller(kube, 'ConfigMap', namespace, c.name, { metadataOnly: c.keys.length === 0 })),
    ),
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
async function bindingOf(kube: KubeClient, namespace: string, pipeline: string): Promise<KubeObject | undefined> {
  try {
    return (await pipelineBinding(kube, namespace, pipeline)) ?? undefined;
  } catch (err) {
    throw mapKubeError(err, { kind: 'ResourceBinding', namespace, name: pipeline });
  }
}

/**
 * The PipelineRun `runPipeline` makes, read and checked with `kube` (the
 * caller's client): the pipeline's slots, filled from overrides or its binding,
 * each resolved (resolve.ts), the Secrets and ConfigMaps they use. Throws the
 * typed errors the mutation returns; writes nothing.
 */
export async function planRun(kube: KubeClient, input: RunPipelineArgs): Promise<PipelineRunManifest> {
  const nameErrors = checkRunNames(input);
  if (nameErrors.length) throw new ValidationError(nameErrors);
  const { namespace } = input;
  const pipeline = await readAsCaller(kube, 'Pipeline', namespace, input.pipeline);
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
  const binding = slots.length ? await bindingOf(kube, namespace, input.pipeline) : undefined;
  const bound = new Map((binding ? bindingEntries(binding) : []).map((e) => [e.slot, e.resourceName]));
  const { sources, errors } = slotSources(slots, bound, input.overrides ?? []);
  errors.push(...checkPlainParams(input.params ?? [], slots));
  const params = checkRunParams(input.pipeline, input.params ?? [], declaredParams(pipeline), slots);
  const slotWorkspaces = slots.flatMap((s) => slotWorkspaceNames(s));
  const workspaces = checkRunWorkspaces(input.pipeline, input.workspaces ?? [], pipeline, slotWorkspaces);
  const timeouts = checkTimeouts(input.timeouts ?? {});
  const template = checkTaskRunTemplate(input.taskRunTemplate ?? {});
  errors.push(...params.errors, ...workspaces.errors, ...timeouts.errors, ...template.errors);

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
    named.map((s) => readAsCaller<PipelineResourceObject>(kube, 'PipelineResource', namespace, s.name)),
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
  await checkReferences(kube, namespace, resolved, workspaces.references);

  return buildPipelineRun({
    namespace,
    pipeline: input.pipeline,
    generateName: input.generateName ?? `${input.pipeline}-`,
    slots: resolved,
    params: params.params,
    workspaces: workspaces.workspaces,
    ...(timeouts.timeouts ? { timeouts: timeouts.timeouts } : {}),
    ...(template.template ? { taskRunTemplate: template.template } : {}),
  });
}

/** Creates the planned run as the caller (or dry-runs it): the PipelineRun as the apiserver returned it. */
export async function createRun(kube: KubeClient, body: PipelineRunManifest, dryRun: boolean): Promise<KubeObject> {
  const { namespace, generateName } = body.metadata;
  try {
    return await kube.request<KubeObject>('POST', resourcePath(kinds.PipelineRun, namespace), {
      body,
      query: writeQuery(dryRun),
    });
  } catch (err) {
    throw mapKubeError(err, {
      kind: 'PipelineRun',
      namespace,
      name: generateName,
      notFound: { kind: 'Namespace', namespace: '', name: namespace },
    });
  }
}
