import type { KubeObject } from '../kube/kinds.js';
import { arr, str } from '../kube/read.js';
import type { WorkspaceBinding } from './resolve.js';
import { runInputBounds } from './runInputs.js';
import { dns1123Subdomain, type FieldError } from './validation.js';

/**
 * The workspace bindings `runPipeline` takes besides the slots' (docs/bindings.md,
 * "Running a pipeline"), checked against the Pipeline's declared workspaces. Pure.
 */

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
