import type { Context } from '../context.js';
import { type KubeErrorContext, mapKubeError } from '../errors.js';
import { KubeApiError } from '../kube/KubeApiError.js';
import { type KindName, type KubeObject, withoutManagedFields } from '../kube/kinds.js';
import { readAsCaller } from '../resources/asCaller.js';

/** An object read fresh from Kubernetes as the caller, for a write to start from; null when it does not exist. */
export const readForWrite = <T extends KubeObject>(ctx: Context, kind: KindName, namespace: string, name: string) =>
  readAsCaller<T>(ctx.kube, kind, namespace, name);

/**
 * Runs a Kubernetes request made as the caller (a write, or the read a write starts from) and maps its failure to
 * the errors a caller sees. On a conflict the current object is read again as the caller, so it is shown only to
 * someone who may read it.
 */
export async function withKubeErrors<T>(
  ctx: Context,
  target: { kind: KindName; namespace: string; name: string; notFound?: KubeErrorContext['notFound'] },
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    ctx.logger.debug({ err, ...target }, 'write failed');
    let current: KubeObject | undefined;
    // ConflictError.current is a PipelineResource; other kinds' conflicts carry none.
    if (err instanceof KubeApiError && err.status === 409 && target.kind === 'PipelineResource') {
      current = (await readForWrite(ctx, target.kind, target.namespace, target.name).catch(() => null)) ?? undefined;
    }
    throw mapKubeError(err, { ...target, current: () => current });
  }
}

export { writeQuery } from '../resources/asCaller.js';

/** What a PUT sends back: the object without its managedFields, which the apiserver keeps. */
export function forUpdate<T extends KubeObject>(obj: T): T {
  return withoutManagedFields(obj);
}

export const dryRunOptions = {
  required: false,
  defaultValue: false,
  description: 'Validate with the apiserver (server-side dry run) without writing.',
} as const;
