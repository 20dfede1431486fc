import type { KubeObject } from '../kube/kinds.js';
import type { PipelineResourceObject } from './PipelineResourceObject.js';
import { currentParamsHash, staleUsages } from './resolve.js';
import { runStatus } from './tekton.js';

export interface StaleRunsOptions {
  /** At most this many, newest first. */
  limit: number;
  /** How far back finished runs count, in hours; unfinished runs always count. */
  withinHours: number;
  /** Only runs whose resolved params differ from the resource's now. */
  changedParamsOnly: boolean;
  /** Now, in epoch milliseconds. */
  now: number;
}

/**
 * Of `runs` (those that recorded `resource`), the ones that used an older
 * version of it and are unfinished or were created within `withinHours`,
 * newest first, at most `limit`.
 */
export function staleRuns(
  runs: readonly KubeObject[],
  resource: PipelineResourceObject,
  options: StaleRunsOptions,
): KubeObject[] {
  const since = options.now - Math.max(0, options.withinHours) * 3_600_000;
  const current = options.changedParamsOnly ? currentParamsHash(resource) : undefined;
  return runs
    .filter((r) => {
      const stale = staleUsages(r, resource);
      if (!stale.length) return false;
      if (options.changedParamsOnly && !stale.some((u) => u.paramsHash !== current)) return false;
      const status = runStatus(r);
      return status === 'PENDING' || status === 'RUNNING' || Date.parse(r.metadata.creationTimestamp ?? '') >= since;
    })
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''))
    .slice(0, Math.max(0, options.limit));
}
