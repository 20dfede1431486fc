import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { kinds } from '../src/kube/kinds.js';

/**
 * The benchmark query Q: every PipelineResource of a namespace with its
 * params, paged 500 at a time (the maximum of `first`) until done. `%EXTRA%`
 * becomes the optional fields the schema has (`bindings { name }`,
 * `pipelines { name }`; see `optionalFields`).
 */
export const Q = /* GraphQL */ `
  query BenchResources($ns: String!, $after: String) {
    pipelineResources(namespace: $ns, first: 500, after: $after) {
      edges { node { name type params { name value } %EXTRA% } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

/** Fields of PipelineResource that Q includes when the schema has them. */
export const optionalFields = { bindings: 'bindings { name }', pipelines: 'pipelines { name }' } as const;
export type OptionalField = keyof typeof optionalFields;

export function benchQuery(fields: readonly OptionalField[]): string {
  return Q.replace('%EXTRA%', fields.map((f) => optionalFields[f]).join(' '));
}

export interface ResourceRow {
  name: string;
  type: string;
  params: { name: string; value: string }[];
  bindings?: { name: string }[];
  pipelines?: { name: string }[];
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; path?: unknown; extensions?: Record<string, unknown> }[];
}

export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  try {
    return JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    return { errors: [{ message: `HTTP ${res.status}: ${text.slice(0, 200)}` }] };
  }
}

/**
 * Which optional fields the running gateway's schema has: by introspection, or,
 * where introspection is disabled, by whether a query selecting the field validates.
 */
export async function detectOptionalFields(url: string): Promise<OptionalField[]> {
  const all = Object.keys(optionalFields) as OptionalField[];
  const res = await gql<{ __type: { fields: { name: string }[] } | null }>(
    url,
    '{ __type(name: "PipelineResource") { fields { name } } }',
  );
  if (!res.errors?.length && res.data?.__type) {
    const names = new Set(res.data.__type.fields.map((f) => f.name));
    return all.filter((f) => names.has(f));
  }
  const present: OptionalField[] = [];
  for (const f of all) {
    const probe = await gql(url, `{ pipelineResources(namespace: "-", first: 1) { edges { node { ${optionalFields[f]} } } } }`);
    if (!probe.errors?.some((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' || /Cannot query field/.test(e.message)))
      present.push(f);
  }
  return present;
}

interface Page {
  pipelineResources: {
    edges: { node: ResourceRow }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** One run of Q: every page, in order. Throws on GraphQL errors. */
export async function runQuery(url: string, query: string, namespace: string): Promise<{ rows: ResourceRow[]; pages: number }> {
  const rows: ResourceRow[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const res: GraphQLResponse<Page> = await gql<Page>(url, query, { ns: namespace, after });
    if (res.errors?.length || !res.data) {
      throw new Error(`query failed: ${res.errors?.map((e) => e.message).join('; ') ?? 'no data'}`);
    }
    const conn = res.data.pipelineResources;
    for (const e of conn.edges) rows.push(e.node);
    if (!conn.pageInfo.hasNextPage) return { rows, pages };
    after = conn.pageInfo.endCursor;
  }
}

interface Listed {
  items: {
    metadata: { name: string };
    spec?: {
      type?: string;
      params?: { name: string; value: string }[];
      pipelineRef?: { name?: string };
      resources?: { name: string; resourceRef?: { name?: string } }[];
    };
  }[];
}

/**
 * The same data straight from the apiserver with @kubernetes/client-node:
 * one LIST each of PipelineResources, ResourceBindings and Pipelines (in
 * parallel), joined in memory to Q's full shape (resources with their
 * bindings and the pipelines those bindings name).
 */
export function directFetcher(kc: KubeConfig): (namespace: string) => Promise<ResourceRow[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = (kind: { group: string; version: string; plural: string }, namespace: string) =>
    api.listNamespacedCustomObject({
      group: kind.group,
      version: kind.version,
      plural: kind.plural,
      namespace,
    }) as Promise<Listed>;
  return async (namespace) => {
    const [resources, bindings, pipelines] = await Promise.all([
      list(kinds.PipelineResource, namespace),
      list(kinds.ResourceBinding, namespace),
      list(kinds.Pipeline, namespace),
    ]);
    const pipelineNames = new Set(pipelines.items.map((p) => p.metadata.name));
    const byResource = new Map<string, { bindings: { name: string }[]; pipelines: Map<string, { name: string }> }>();
    for (const b of bindings.items) {
      const pipeline = b.spec?.pipelineRef?.name;
      for (const slot of b.spec?.resources ?? []) {
        const ref = slot.resourceRef?.name;
        if (!ref) continue;
        let entry = byResource.get(ref);
        if (!entry) {
          entry = { bindings: [], pipelines: new Map() };
          byResource.set(ref, entry);
        }
        entry.bindings.push({ name: b.metadata.name });
        if (pipeline && pipelineNames.has(pipeline)) entry.pipelines.set(pipeline, { name: pipeline });
      }
    }
    return resources.items
      .map((r) => {
        const joined = byResource.get(r.metadata.name);
        return {
          name: r.metadata.name,
          type: r.spec?.type ?? '',
          params: (r.spec?.params ?? []).map((p) => ({ name: p.name, value: p.value })),
          bindings: joined?.bindings ?? [],
          pipelines: [...(joined?.pipelines.values() ?? [])],
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };
}
