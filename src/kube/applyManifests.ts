import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from './KubeClient.js';
import type { KubeObject } from './kinds.js';

/** Kinds the project's own manifests use, and where they live in the API. */
const paths: Record<string, { plural: string; namespaced: boolean }> = {
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  Namespace: { plural: 'namespaces', namespaced: false },
  Node: { plural: 'nodes', namespaced: false },
  Service: { plural: 'services', namespaced: true },
  MutatingWebhookConfiguration: { plural: 'mutatingwebhookconfigurations', namespaced: false },
  ValidatingWebhookConfiguration: { plural: 'validatingwebhookconfigurations', namespaced: false },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  PipelineResource: { plural: 'pipelineresources', namespaced: true },
  ResourceBinding: { plural: 'resourcebindings', namespaced: true },
  Pipeline: { plural: 'pipelines', namespaced: true },
  Task: { plural: 'tasks', namespaced: true },
  PipelineRun: { plural: 'pipelineruns', namespaced: true },
  TaskRun: { plural: 'taskruns', namespaced: true },
};

export function readManifests(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

export function objectPath(obj: KubeObject, defaultNamespace = 'default'): string {
  const p = obj.kind ? paths[obj.kind] : undefined;
  if (!p || !obj.apiVersion) throw new Error(`cannot apply kind ${obj.kind}: not one of ${Object.keys(paths).join(', ')}`);
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = p.namespaced ? `/namespaces/${obj.metadata.namespace ?? defaultNamespace}` : '';
  return `${base}${ns}/${p.plural}/${obj.metadata.name}`;
}

/** Server-side apply of each object, in order; CRDs are waited for until Established. */
export async function applyManifests(
  client: KubeClient,
  objects: KubeObject[],
  fieldManager = 'tekton-resource-gateway',
): Promise<void> {
  for (const obj of objects) {
    await client.request('PATCH', objectPath(obj), {
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
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await delay(100);
  }
  throw new Error(`CRD ${name} not established within 60 s`);
}
