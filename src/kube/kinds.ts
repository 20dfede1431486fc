/** The Kubernetes kinds the gateway reads and writes, and their REST paths. */
export interface KindSpec {
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const kinds = {
  PipelineResource: {
    kind: 'PipelineResource',
    group: 'tekton.dev',
    version: 'v1alpha1',
    plural: 'pipelineresources',
    namespaced: true,
  },
  ResourceBinding: {
    kind: 'ResourceBinding',
    group: 'resources.tekton.dev',
    version: 'v1alpha1',
    plural: 'resourcebindings',
    namespaced: true,
  },
  Pipeline: { kind: 'Pipeline', group: 'tekton.dev', version: 'v1', plural: 'pipelines', namespaced: true },
  Task: { kind: 'Task', group: 'tekton.dev', version: 'v1', plural: 'tasks', namespaced: true },
  PipelineRun: { kind: 'PipelineRun', group: 'tekton.dev', version: 'v1', plural: 'pipelineruns', namespaced: true },
  TaskRun: { kind: 'TaskRun', group: 'tekton.dev', version: 'v1', plural: 'taskruns', namespaced: true },
} as const satisfies Record<string, KindSpec>;

export type KindName = keyof typeof kinds;

export function apiVersion(spec: KindSpec): string {
  return spec.group ? `${spec.group}/${spec.version}` : spec.version;
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>]`; no namespace lists across all. */
export function resourcePath(spec: KindSpec, namespace?: string, name?: string): string {
  const base = spec.group ? `/apis/${spec.group}/${spec.version}` : `/api/${spec.version}`;
  const ns = spec.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return `${base}${ns}/${spec.plural}${n}`;
}

/** The parts of a Kubernetes object the gateway relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: unknown;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** `GET /apis/g/v/namespaces/x/plural` → `{ verb: 'LIST', resource: 'plural' }`, for metrics and spans. */
export function describeRequest(method: string, path: string): { verb: string; resource: string } {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  const afterNs = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const verb = method === 'WATCH' ? 'WATCH' : method === 'GET' && afterNs.length === 1 ? 'LIST' : method;
  return { verb, resource: afterNs[0] ?? 'unknown' };
}

export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
