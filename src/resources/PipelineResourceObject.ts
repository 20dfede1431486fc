import { apiVersion, type KubeObject, kinds } from '../kube/kinds.js';
import type { PipelineResourceInput } from './validation.js';

export interface ResourceParam {
  name: string;
  value: string;
}

export interface SecretRef {
  fieldName: string;
  secretName: string;
  secretKey: string;
}

/** A `tekton.dev/v1alpha1` PipelineResource as stored; legacy objects may lack any field. */
export interface PipelineResourceObject extends KubeObject {
  spec?: {
    type?: string;
    description?: string;
    params?: ResourceParam[];
    secrets?: SecretRef[];
  };
}

export function params(obj: PipelineResourceObject): ResourceParam[] {
  const p = obj.spec?.params;
  return Array.isArray(p) ? p.map((x) => ({ name: String(x.name ?? ''), value: String(x.value ?? '') })) : [];
}

export function secrets(obj: PipelineResourceObject): SecretRef[] {
  const s = obj.spec?.secrets;
  return Array.isArray(s)
    ? s.map((x) => ({
        fieldName: String(x.fieldName ?? ''),
        secretName: String(x.secretName ?? ''),
        secretKey: String(x.secretKey ?? ''),
      }))
    : [];
}

/** The object for a validated input. */
export function toPipelineResource(v: PipelineResourceInput): PipelineResourceObject {
  return {
    apiVersion: apiVersion(kinds.PipelineResource),
    kind: kinds.PipelineResource.kind,
    metadata: {
      name: v.name,
      namespace: v.namespace,
      ...(v.labels?.length ? { labels: Object.fromEntries(v.labels.map((l) => [l.key, l.value])) } : {}),
    },
    spec: {
      type: v.type,
      ...(v.description ? { description: v.description } : {}),
      params: v.params ?? [],
      ...(v.secrets?.length ? { secrets: v.secrets } : {}),
    },
  };
}

/** An object as an input, so that an update can be validated as a whole, like a create. */
export function toInput(obj: PipelineResourceObject): PipelineResourceInput {
  return {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    type: String(obj.spec?.type ?? ''),
    description: obj.spec?.description ?? null,
    params: params(obj),
    secrets: secrets(obj),
    labels: Object.entries(obj.metadata.labels ?? {}).map(([key, value]) => ({ key, value })),
  };
}
