import { ForbiddenError, mapKubeError } from '../errors.js';
import { KubeApiError } from '../kube/KubeApiError.js';
import type { KubeClient } from '../kube/KubeClient.js';
import { type KindName, type KubeObject, kinds, resourcePath } from '../kube/kinds.js';

/**
 * Reads and writes made with the caller's own client, so RBAC decides: what a
 * mutation reads before it writes (never the shared cache, which the caller
 * may see more or less of than Kubernetes would show them).
 */

/** An object read fresh from Kubernetes as the caller; null when it does not exist. */
export async function readAsCaller<T extends KubeObject>(
  kube: KubeClient,
  kind: KindName,
  namespace: string,
  name: string,
): Promise<T | null> {
  try {
    return await kube.request<T>('GET', resourcePath(kinds[kind], namespace, name));
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return null;
    throw mapKubeError(err, { kind, namespace, name });
  }
}

/** Asks the apiserver for an object's metadata only: a Secret read this way carries no values. */
export const metadataOnly = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * Reads a Secret or ConfigMap that a run would use, as the caller; null when it
 * does not exist. With `metadataOnly` the apiserver sends no data, which is how
 * Secrets are always read: their values never reach the gateway.
 */
export async function readCoreAsCaller(
  kube: KubeClient,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
  options: { metadataOnly: boolean },
): Promise<KubeObject | null> {
  const plural = kind === 'Secret' ? 'secrets' : 'configmaps';
  try {
    return await kube.request<KubeObject>(
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

/** Query parameters of every write: server-side dry run when asked, and unknown fields refused. */
export const writeQuery = (dryRun: boolean | null | undefined) => ({
  dryRun: dryRun ? 'All' : undefined,
  fieldValidation: 'Strict',
});
