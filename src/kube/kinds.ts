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

/** Kubernetes' own kinds the project's manifests and local mode use; never cached. */
export const builtinKinds = {
  CustomResourceDefinition: {
    kind: 'CustomResourceDefinition',
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  ClusterRole: {
    kind: 'ClusterRole',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'clusterroles',
    namespaced: false,
  },
  ClusterRoleBinding: {
    kind: 'ClusterRoleBinding',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  Role: { kind: 'Role', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', namespaced: true },
  RoleBinding: {
    kind: 'RoleBinding',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'rolebindings',
    namespaced: true,
  },
  Namespace: { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  Secret: { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', namespaced: true },
  Service: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  Node: { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
  MutatingWebhookConfiguration: {
    kind: 'MutatingWebhookConfiguration',
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  ValidatingWebhookConfiguration: {
    kind: 'ValidatingWebhookConfiguration',
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
} as const satisfies Record<string, KindSpec>;

/** Where a kind lives in the API, apart from its group and version (a manifest names those). */
export type KindPlace = Pick<KindSpec, 'plural' | 'namespaced'>;

/**
 * The path of a manifest's object, from its own `apiVersion` and the plural its kind has in `kinds`,
 * `builtinKinds` or `moreKinds`; throws for any other kind.
 */
export function manifestPath(obj: KubeObject, defaultNamespace = 'default', moreKinds: Record<string, KindPlace> = {}): string {
  const known: Record<string, KindPlace> = { ...kinds, ...builtinKinds, ...moreKinds };
  const spec = obj.kind ? known[obj.kind] : undefined;
  if (!spec || !obj.apiVersion) throw new Error(`cannot apply kind ${obj.kind}: not one of ${Object.keys(known).join(', ')}`);
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  return resourcePath(
    { ...spec, kind: obj.kind ?? '', group: group ?? '', version: version ?? '' },
    obj.metadata.namespace ?? defaultNamespace,
    obj.metadata.name,
  );
}

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

/** The object without its managedFields: large, never served, and kept by the apiserver on a PUT without them. */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Sort order: the newest object first (by creationTimestamp; RFC 3339 strings sort as times). */
export function newestFirst(a: KubeObject, b: KubeObject): number {
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/**
 * The order of every list the cache gives: by namespace, then name, by UTF-16 code units (names are DNS labels and
 * subdomains, so this is also byte order), which keyset cursors (src/schema/pagination.ts) rely on.
 */
export function compareObjects(a: KubeObject, b: KubeObject): number {
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
