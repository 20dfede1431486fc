import type { KubeObject } from '../kube/kinds.js';

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
