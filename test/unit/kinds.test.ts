import { expect, it } from 'vitest';
import {
  builtinKinds,
  type KubeObject,
  manifestPath,
  newestFirst,
  resourcePath,
  withoutManagedFields,
} from '../../src/kube/kinds.js';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

it('finds a manifest object’s path from its apiVersion and its kind’s plural and scope', () => {
  expect(manifestPath(obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'x.tekton.dev'))).toBe(
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.tekton.dev',
  );
  expect(manifestPath(obj('rbac.authorization.k8s.io/v1', 'Role', 'r', 'team-a'))).toBe(
    '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/r',
  );
  expect(manifestPath(obj('v1', 'ConfigMap', 'cm'))).toBe('/api/v1/namespaces/default/configmaps/cm');
  expect(manifestPath(obj('v1', 'Namespace', 'team-a'))).toBe('/api/v1/namespaces/team-a');
  expect(manifestPath(obj('tekton.dev/v1beta1', 'Pipeline', 'p', 'ns'))).toBe(
    '/apis/tekton.dev/v1beta1/namespaces/ns/pipelines/p',
  );
  expect(
    manifestPath(obj('apps/v1', 'Deployment', 'd', 'ns'), undefined, { Deployment: { plural: 'deployments', namespaced: true } }),
  ).toBe('/apis/apps/v1/namespaces/ns/deployments/d');
  expect(() => manifestPath(obj('apps/v1', 'Deployment', 'd', 'ns'))).toThrow(/cannot apply kind Deployment/);
  expect(resourcePath(builtinKinds.Secret, 'ns', 'creds')).toBe('/api/v1/namespaces/ns/secrets/creds');
});

it('strips managedFields and sorts newest first', () => {
  const managed = { ...obj('v1', 'ConfigMap', 'a', 'ns'), metadata: { name: 'a', managedFields: [{}], labels: { x: 'y' } } };
  expect(withoutManagedFields(managed).metadata).toEqual({ name: 'a', labels: { x: 'y' } });
  const at = (name: string, creationTimestamp: string) => ({ metadata: { name, creationTimestamp } });
  expect(
    [at('old', '2026-01-01T00:00:00Z'), at('new', '2026-03-01T00:00:00Z'), at('mid', '2026-02-01T00:00:00Z')]
      .sort(newestFirst)
      .map((o) => o.metadata.name),
  ).toEqual(['new', 'mid', 'old']);
});
