import type { KindIndexes } from '../kube/ResourceCache.js';
import { arr, str } from '../kube/read.js';
import { runResources } from './tekton.js';

const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? '';

/** The graph's edges, kept as secondary indexes of the cache. Keys are `namespace/name` of the other end. */
export const indexes: KindIndexes = {
  ResourceBinding: {
    /** Bindings that refer to a resource. */
    byResource: (b) =>
      arr(b, 'spec', 'resources')
        .map((r) => str(r, 'resourceRef', 'name'))
        .filter((n): n is string => n !== undefined)
        .map((n) => `${ns(b)}/${n}`),
    /** The binding(s) of a pipeline. */
    byPipeline: (b) => {
      const p = str(b, 'spec', 'pipelineRef', 'name');
      return p ? [`${ns(b)}/${p}`] : [];
    },
  },
  PipelineRun: {
    /** Runs that recorded using a resource (src/resources/tekton.ts). */
    byResource: (r) => runResources(r).map((u) => `${ns(r)}/${u.name}`),
    byPipeline: (r) => {
      const p = str(r, 'spec', 'pipelineRef', 'name');
      return p ? [`${ns(r)}/${p}`] : [];
    },
  },
  TaskRun: {
    byPipelineRun: (r) => {
      const p = r.metadata.labels?.['tekton.dev/pipelineRun'];
      return p ? [`${ns(r)}/${p}`] : [];
    },
  },
};
