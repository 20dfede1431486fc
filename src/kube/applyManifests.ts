import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from './KubeClient.js';
import { builtinKinds, type KubeObject, manifestPath, resourcePath } from './kinds.js';

export function readManifests(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

/** Server-side apply of each object, in order; CRDs are waited for until Established. */
export async function applyManifests(
  client: KubeClient,
  objects: KubeObject[],
  fieldManager = 'tekton-resource-gateway',
): Promise<void> {
  for (const obj of objects) {
    await client.request('PATCH', manifestPath(obj), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
    if (obj.kind === 'CustomResourceDefinition') await waitEstablished(client, obj.metadata.name);
  }
}

async function waitEstablished(client: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const crd = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
      'GET',
      resourcePath(builtinKinds.CustomResourceDefinition, undefined, name),
    );
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await delay(100);
  }
  throw new Error(`CRD ${name} not established within 60 s`);
}
