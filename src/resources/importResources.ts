import { mapKubeError, ValidationError } from '../errors.js';
import { KubeApiError } from '../kube/KubeApiError.js';
import type { KubeClient } from '../kube/KubeClient.js';
import { type KindSpec, type KubeObject, kinds, resourcePath } from '../kube/kinds.js';
import { str } from '../kube/read.js';
import { type MigrationNote, normalizeLegacyResource, rebase } from './migrate.js';
import { type PipelineResourceObject, toPipelineResource } from './PipelineResourceObject.js';
import type { YamlDocument } from './readYaml.js';
import { type FieldError, validatePipelineResourceInput } from './validation.js';

/**
 * All-or-nothing creation of several objects, and the bulk import of legacy
 * PipelineResource documents built on it (docs/bindings.md, "Bulk import").
 */

export type ImportStatus = 'VALID' | 'INVALID' | 'CREATED' | 'ROLLED_BACK';

export interface ImportedDocument {
  /** Position in the YAML stream, from 0 (empty documents count, but are not reported). */
  index: number;
  name: string | undefined;
  namespace: string | undefined;
  status: ImportStatus;
  errors: FieldError[];
  /** Legacy spellings rewritten, and legacy behaviour that is not kept. */
  notes: MigrationNote[];
  /** What is (or would be) created. */
  object?: PipelineResourceObject;
  /** As Kubernetes stored it, once created. */
  created?: PipelineResourceObject;
}

const kindByName = new Map<string, KindSpec>(Object.values(kinds).map((k) => [k.kind, k]));

function pathFor(obj: KubeObject, name?: string): string {
  const spec = kindByName.get(obj.kind ?? '');
  if (!spec) throw new Error(`cannot create kind ${obj.kind}`);
  return resourcePath(spec, obj.metadata.namespace, name);
}

export interface CreateAllResult {
  /** The objects as stored (or as a dry run returned them), in order; empty when anything failed. */
  created: KubeObject[];
  /** Per object (by position), why the apiserver refused it, when it did. */
  failures: Map<number, unknown>;
  /** Objects created, then deleted again because a later one failed. */
  rolledBack: KubeObject[];
  /** Objects created that could not be deleted again: they must be removed by hand. */
  leftBehind: { object: KubeObject; error: unknown }[];
}

/**
 * Creates every object or none. First a server-side dry run of each (all
 * failures are collected: existing names, RBAC, schema and CEL rules); then,
 * unless `dryRun`, the creates in order; when one fails, the ones before it are
 * deleted again (newest first, only the very objects created: by uid).
 */
export async function createAllOrNothing(
  kube: KubeClient,
  objects: readonly KubeObject[],
  options: { dryRun?: boolean | null } = {},
): Promise<CreateAllResult> {
  const failures = new Map<number, unknown>();
  const checked = await Promise.all(
    objects.map((o, i) =>
      kube
        .request<KubeObject>('POST', pathFor(o), { body: o, query: { dryRun: 'All', fieldValidation: 'Strict' } })
        .catch((err: unknown) => {
          failures.set(i, err);
          return undefined;
        }),
    ),
  );
  const none = { created: [], failures, rolledBack: [], leftBehind: [] };
  if (failures.size) return none;
  if (options.dryRun) return { ...none, created: checked.filter((o): o is KubeObject => o !== undefined) };
  const created: KubeObject[] = [];
  for (const [i, o] of objects.entries()) {
    try {
      created.push(await kube.request<KubeObject>('POST', pathFor(o), { body: o, query: { fieldValidation: 'Strict' } }));
    } catch (err) {
      failures.set(i, err);
      const rolledBack: KubeObject[] = [];
      const leftBehind: CreateAllResult['leftBehind'] = [];
      for (const c of [...created].reverse()) {
        try {
          await kube.request('DELETE', pathFor(c, c.metadata.name), {
            body: {
              apiVersion: 'v1',
              kind: 'DeleteOptions',
              preconditions: { uid: c.metadata.uid },
              propagationPolicy: 'Background',
            },
          });
          rolledBack.push(c);
        } catch (deleteError) {
          if (deleteError instanceof KubeApiError && deleteError.status === 404) rolledBack.push(c);
          else leftBehind.push({ object: c, error: deleteError });
        }
      }
      return { created: [], failures, rolledBack, leftBehind };
    }
  }
  return { created, failures, rolledBack: [], leftBehind: [] };
}

/** What the apiserver said about one object, as field errors under `base`. */
export function refusal(err: unknown, obj: KubeObject, base: string): FieldError[] {
  const mapped = mapKubeError(err, {
    kind: obj.kind ?? '',
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    notFound: { kind: 'Namespace', namespace: '', name: obj.metadata.namespace ?? '' },
  });
  if (mapped instanceof ValidationError) {
    return mapped.fieldErrors.map((e) => ({
      ...e,
      path: e.path.replace(/^input\.?/, base ? `${base}.` : '').replace(/\.$/, ''),
    }));
  }
  return [{ path: base, message: mapped.message }];
}

/**
 * Reads and checks every document of a legacy PipelineResource stream; writes
 * nothing. A document is INVALID when it is not a PipelineResource, or the
 * project's validator refuses it (after legacy spellings are normalised), or
 * its name repeats an earlier document's.
 */
export function readImport(docs: YamlDocument[], namespace?: string | null): ImportedDocument[] {
  const out: ImportedDocument[] = [];
  const seen = new Set<string>();
  docs.forEach((d, index) => {
    const base = `documents[${index}]`;
    const report = (doc: Partial<ImportedDocument>): void => {
      out.push({ index, name: undefined, namespace: undefined, status: 'INVALID', errors: [], notes: [], ...doc });
    };
    if ('error' in d) {
      report({ errors: [{ path: base, message: d.error }] });
      return;
    }
    const value = d.value;
    if (value === null || value === undefined) return;
    const name = str(value, 'metadata', 'name');
    const ns = namespace || str(value, 'metadata', 'namespace');
    if (str(value, 'kind') !== 'PipelineResource' || !['tekton.dev/v1alpha1', undefined].includes(str(value, 'apiVersion'))) {
      report({
        name,
        namespace: ns,
        errors: [{ path: `${base}.kind`, message: 'must be a PipelineResource (tekton.dev/v1alpha1)' }],
      });
      return;
    }
    const notes: MigrationNote[] = [];
    const normalized = normalizeLegacyResource((value as { spec?: unknown }).spec, `${base}.spec`, notes, notes);
    const labels = (value as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
    const checked = validatePipelineResourceInput({
      namespace: ns ?? '',
      name: name ?? '',
      type: normalized.type,
      description: normalized.description ?? null,
      params: normalized.params,
      secrets: normalized.secrets,
      labels: Object.entries(labels).map(([key, v]) => ({ key, value: String(v) })),
    });
    const errors = checked.ok ? [] : rebase(checked.errors, `${base}.spec`, `${base}.metadata`);
    if (!ns) {
      const i = errors.findIndex((e) => e.path === `${base}.metadata.namespace`);
      const missing = { path: `${base}.metadata.namespace`, message: 'no namespace: give `namespace`, or metadata.namespace' };
      if (i >= 0) errors[i] = missing;
      else errors.push(missing);
    }
    const key = `${ns}/${name}`;
    if (name && seen.has(key)) errors.push({ path: `${base}.metadata.name`, message: `"${name}" repeats an earlier document` });
    seen.add(key);
    report({
      name,
      namespace: ns,
      notes,
      errors,
      status: errors.length ? 'INVALID' : 'VALID',
      ...(checked.ok ? { object: toPipelineResource(checked.value) } : {}),
    });
  });
  return out;
}

/**
 * Imports all documents or none: nothing is written when any document is
 * invalid, when the apiserver refuses any in a dry run, or (rolled back)
 * when a create fails.
 */
export async function importPipelineResources(
  kube: KubeClient,
  docs: YamlDocument[],
  options: { dryRun?: boolean | null; namespace?: string | null } = {},
): Promise<{ applied: boolean; documents: ImportedDocument[] }> {
  const documents = readImport(docs, options.namespace);
  if (documents.length === 0) throw new ValidationError([{ path: 'yaml', message: 'no documents' }]);
  if (documents.some((d) => d.status === 'INVALID')) return { applied: false, documents };
  const valid = documents as (ImportedDocument & { object: PipelineResourceObject })[];
  const result = await createAllOrNothing(
    kube,
    valid.map((d) => d.object),
    options,
  );
  for (const [i, err] of result.failures) {
    const doc = valid[i];
    if (!doc) continue;
    doc.status = 'INVALID';
    doc.errors.push(...refusal(err, doc.object, `documents[${doc.index}]`));
  }
  for (const r of result.rolledBack) {
    const doc = valid.find((d) => d.object.metadata.name === r.metadata.name);
    if (doc) doc.status = 'ROLLED_BACK';
  }
  for (const { object } of result.leftBehind) {
    const doc = valid.find((d) => d.object.metadata.name === object.metadata.name);
    if (doc) {
      doc.status = 'CREATED';
      doc.errors.push({ path: `documents[${doc.index}]`, message: 'created, and could not be deleted again: delete it by hand' });
    }
  }
  if (options.dryRun || result.failures.size) return { applied: false, documents };
  result.created.forEach((c, i) => {
    const doc = valid[i];
    if (doc) {
      doc.status = 'CREATED';
      doc.created = c as PipelineResourceObject;
    }
  });
  return { applied: true, documents };
}
