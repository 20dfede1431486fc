import { mapKubeError, ValidationError } from '../errors.js';
import type { KubeClient } from '../kube/KubeClient.js';
import type { KubeObject } from '../kube/kinds.js';
import { readAsCaller } from './asCaller.js';
import { createAllOrNothing } from './importResources.js';
import { type Migration, type MigrationNote, migratedObjects } from './migrate.js';
import type { PipelineResourceObject } from './PipelineResourceObject.js';
import { withArticle } from './resolve.js';
import type { FieldError } from './validation.js';

/** What `migrateLegacyPipeline` returns: the objects, whether they were created, and the report. */
export interface MigrationOutcome {
  objects: { object: KubeObject; created: boolean }[];
  changes: MigrationNote[];
  notCarried: MigrationNote[];
  applied: boolean;
}

/** A migration reported only: nothing read or written; resources it names but does not make are noted. */
export function reportMigration(m: Migration): MigrationOutcome {
  const notCarried = [
    ...m.notCarried,
    ...m.references.map((r) => ({ path: r.path, message: `PipelineResource "${r.resource}" must exist when applied` })),
  ];
  return {
    changes: m.changes,
    notCarried,
    objects: migratedObjects(m).map((object) => ({ object, created: false })),
    applied: false,
  };
}

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

/**
 * Creates a migration's objects with `kube` (the caller's client), all or
 * none: the resources its bindings name but it does not make must exist, of
 * the slot's type; then every object is dry-run and created in order, and
 * undone when one fails. Throws the typed error the mutation returns.
 */
export async function applyMigration(kube: KubeClient, m: Migration): Promise<MigrationOutcome> {
  const namespace = m.namespace;
  if (!namespace) throw new ValidationError([{ path: 'namespace', message: 'give the namespace to create the objects in' }]);
  const objects = migratedObjects(m);
  const errors: FieldError[] = [];
  const refs = await Promise.all(
    m.references.map((r) => readAsCaller<PipelineResourceObject>(kube, 'PipelineResource', namespace, r.resource)),
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
  const result = await createAllOrNothing(kube, objects);
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
  return {
    changes: m.changes,
    notCarried: m.notCarried,
    objects: result.created.map((object) => ({ object, created: true })),
    applied: true,
  };
}
