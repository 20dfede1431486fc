import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiError } from '../src/kube/KubeApiError.js';
import type { KubeClient } from '../src/kube/KubeClient.js';
import { apiVersion, type KindSpec, type KubeObject, kinds, resourcePath } from '../src/kube/kinds.js';

/**
 * The benchmark's data set, in one fresh namespace: `n` PipelineResources of
 * mixed types (half git, 30% image, the rest spread over the other types),
 * one Pipeline per block of ten resources with one object-param slot per
 * resource, one ResourceBinding per Pipeline that binds its block, and for
 * every other Pipeline a second binding that reuses the next block's git and
 * image resources. Every resource is bound at least once; many twice.
 */
export interface SeedCounts {
  pipelineResources: number;
  pipelines: number;
  resourceBindings: number;
}

const blockSize = 10;
/** The type of the resource at each position of a block; `other` rotates by block. */
const positions = ['git', 'git', 'git', 'git', 'image', 'image', 'image', 'otherA', 'otherB', 'git'] as const;
const otherA = ['cluster', 'storage', 'config'] as const;
const otherB = ['database', 'cloudEvent', 'pullRequest'] as const;
/** Positions whose type is the same in every block, so another block's resource fits the slot. */
const stablePositions = [0, 1, 2, 3, 4, 5, 6, 9];

const pad = (i: number) => String(i).padStart(5, '0');
const resourceName = (i: number) => `res-${pad(i)}`;
const pipelineName = (b: number) => `pipe-${pad(b)}`;
const slotName = (p: number) => `slot${p}`;

function resourceType(i: number): string {
  const block = Math.floor(i / blockSize);
  const pos = positions[i % blockSize] ?? 'git';
  if (pos === 'otherA') return otherA[block % otherA.length] ?? 'cluster';
  if (pos === 'otherB') return otherB[block % otherB.length] ?? 'database';
  return pos;
}

/** Valid params and secret refs for each type (src/resources/catalog.ts and the CRD's CEL rules). */
function resourceSpec(i: number): Record<string, unknown> {
  const type = resourceType(i);
  const p = (name: string, value: string) => ({ name, value });
  const n = pad(i);
  switch (type) {
    case 'git':
      return {
        type,
        description: `Source repository ${n}.`,
        params: [p('url', `https://git.example.com/org/repo-${n}.git`), p('revision', i % 3 === 0 ? 'main' : `release-${i % 7}`)],
      };
    case 'image':
      return { type, params: [p('url', `registry.example.com/org/app-${n}`)] };
    case 'cluster':
      return {
        type,
        params: [p('url', `https://k8s-${i % 5}.example.com`), p('namespace', `ns-${n}`)],
        secrets: [{ fieldName: 'token', secretName: `deployer-${i % 5}`, secretKey: 'token' }],
      };
    case 'storage':
      return { type, params: [p('type', 'gcs'), p('location', `gs://bucket-${i % 4}/artifacts/${n}`)] };
    case 'config':
      return { type, params: [p('configMapName', `settings-${n}`)] };
    case 'database':
      return {
        type,
        params: [p('engine', 'postgres'), p('host', `db-${i % 6}.example.com`), p('port', '5432'), p('database', `db_${n}`)],
        secrets: [{ fieldName: 'password', secretName: `db-${i % 6}`, secretKey: 'password' }],
      };
    case 'cloudEvent':
      return { type, params: [p('targetURI', `https://events.example.com/sink/${n}`)] };
    default:
      return { type: 'pullRequest', params: [p('url', `https://github.com/example/repo/pull/${i}`)] };
  }
}

function object(kind: KindSpec, namespace: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return {
    apiVersion: apiVersion(kind),
    kind: kind.kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
  } satisfies KubeObject;
}

/** Every object of the data set, in creation order (resources, then pipelines, then bindings). */
export function seedObjects(namespace: string, n: number): { kind: KindSpec; body: KubeObject }[] {
  const blocks = Math.ceil(n / blockSize);
  const out: { kind: KindSpec; body: KubeObject }[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      kind: kinds.PipelineResource,
      body: object(kinds.PipelineResource, namespace, resourceName(i), resourceSpec(i), {
        bench: 'true',
        team: `t${i % 8}`,
      }),
    });
  }
  for (let b = 0; b < blocks; b++) {
    const members = range(b * blockSize, Math.min(n, (b + 1) * blockSize));
    out.push({
      kind: kinds.Pipeline,
      body: object(kinds.Pipeline, namespace, pipelineName(b), {
        params: members.map((i) => ({
          name: slotName(i % blockSize),
          type: 'object',
          description: `Resource slot (${resourceType(i)})`,
          properties: { url: { type: 'string' } },
        })),
        tasks: [
          {
            name: 'run',
            taskRef: { name: 'bench-task' },
            params: members.map((i) => ({ name: `in${i % blockSize}`, value: `$(params.${slotName(i % blockSize)}.url)` })),
          },
        ],
      }),
    });
  }
  for (let b = 0; b < blocks; b++) {
    const members = range(b * blockSize, Math.min(n, (b + 1) * blockSize));
    out.push({
      kind: kinds.ResourceBinding,
      body: object(kinds.ResourceBinding, namespace, `${pipelineName(b)}-main`, {
        pipelineRef: { name: pipelineName(b) },
        resources: members.map((i) => ({ name: slotName(i % blockSize), resourceRef: { name: resourceName(i) } })),
      }),
    });
    // A second binding of the same pipeline to the next block's git and image resources.
    const next = (b + 1) % blocks;
    if (b % 2 === 0 && next !== b) {
      const shared = stablePositions
        .map((pos) => ({ pos, i: next * blockSize + pos }))
        .filter(({ pos, i }) => i < n && b * blockSize + pos < n);
      if (shared.length) {
        out.push({
          kind: kinds.ResourceBinding,
          body: object(kinds.ResourceBinding, namespace, `${pipelineName(b)}-alt`, {
            pipelineRef: { name: pipelineName(b) },
            resources: shared.map(({ pos, i }) => ({ name: slotName(pos), resourceRef: { name: resourceName(i) } })),
          }),
        });
      }
    }
  }
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}

/** Retries what a freshly started apiserver or a just-created CRD answers for a while: 404, 429, 5xx, resets. */
export async function withRetry<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof KubeApiError ? err.status : undefined;
      const retriable = status === undefined || status === 404 || status === 429 || status >= 500;
      if (!retriable || Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await delay(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Creates the namespace and the data set; 409 on a retried create counts as done. */
export async function seed(client: KubeClient, namespace: string, n: number, concurrency = 16): Promise<SeedCounts> {
  await withRetry('create namespace', () =>
    client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    }),
  );
  // The CRDs may have been created a moment ago: wait until each kind is served.
  for (const kind of [kinds.PipelineResource, kinds.Pipeline, kinds.ResourceBinding]) {
    await withRetry(`list ${kind.plural}`, () => client.request('GET', resourcePath(kind, namespace), { query: { limit: 1 } }));
  }
  const objects = seedObjects(namespace, n);
  const counts: SeedCounts = { pipelineResources: 0, pipelines: 0, resourceBindings: 0 };
  // Kinds in order, so bindings never name what does not exist yet.
  for (const kind of [kinds.PipelineResource, kinds.Pipeline, kinds.ResourceBinding]) {
    const batch = objects.filter((o) => o.kind === kind);
    await pool(batch, concurrency, async ({ body }) => {
      await withRetry(`create ${kind.kind} ${body.metadata.name}`, async () => {
        try {
          await client.request('POST', resourcePath(kind, namespace), { body });
        } catch (err) {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err;
        }
      });
    });
    if (kind === kinds.PipelineResource) counts.pipelineResources = batch.length;
    else if (kind === kinds.Pipeline) counts.pipelines = batch.length;
    else counts.resourceBindings = batch.length;
  }
  return counts;
}
