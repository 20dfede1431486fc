import { apiVersion, type KubeObject, kinds } from '../kube/kinds.js';
import { resourceTypes } from './catalog.js';
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

/** A stored param as it may be shown: a secret one says whether it has a value, never the value. */
export interface ShownParam {
  name: string;
  /** Null for a secret param. */
  value: string | null;
  secret: boolean;
  /** Whether the value is not empty. */
  set: boolean;
}

/**
 * Names of the params any type of the catalog keeps secret, lower-cased. A stored
 * plain param (legacy Tekton allowed inline `password`, `token`, …) with one of
 * these names is secret whatever its resource's type or spelling: no type has a
 * plain param of the same name (test/unit/validation.test.ts), and a type the
 * catalog does not know gets the same protection.
 */
const secretParamNames = new Set(resourceTypes.flatMap((t) => t.params.filter((p) => p.secret).map((p) => p.name.toLowerCase())));

export function isSecretParam(name: string): boolean {
  return secretParamNames.has(name.toLowerCase());
}

/** Its params as the API shows them: secret ones without their value (docs/security.md). */
export function shownParams(obj: PipelineResourceObject): ShownParam[] {
  return params(obj).map(({ name, value }) =>
    isSecretParam(name)
      ? { name, value: null, secret: true, set: value !== '' }
      : { name, value, secret: false, set: value !== '' },
  );
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
