import { expect, it } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  mapKubeError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../../src/errors.js';
import { KubeApiError } from '../../src/kube/KubeApiError.js';

const target = { kind: 'PipelineResource', namespace: 'ns', name: 'r' };
const map = (err: unknown) => mapKubeError(err, target);

it('maps each Kubernetes status to the error a caller can act on', () => {
  expect(map(new KubeApiError(404, 'x'))).toBeInstanceOf(NotFoundError);
  expect(map(new KubeApiError(409, 'x', 'AlreadyExists')).message).toBe('PipelineResource ns/r already exists');
  expect(map(new KubeApiError(409, 'x', 'Conflict'))).toBeInstanceOf(ConflictError);
  expect(map(new KubeApiError(403, 'user "x" cannot create'))).toEqual(
    new ForbiddenError('Forbidden: Kubernetes RBAC does not allow this on PipelineResource in namespace ns'),
  );
  expect(map(new KubeApiError(429, 'x')).message).toContain('throttling');
  expect(map(new KubeApiError(503, 'etcd leader changed'))).toBeInstanceOf(UnavailableError);
  expect(map(new Error('socket hang up'))).toBeInstanceOf(UnavailableError);
});

it('keeps the apiserver’s field causes for invalid input (422), and nothing internal otherwise', () => {
  const invalid = map(
    new KubeApiError(422, 'invalid', 'Invalid', { causes: [{ field: 'spec.params', message: 'type git requires param "url"' }] }),
  );
  expect(invalid).toBeInstanceOf(ValidationError);
  expect((invalid as ValidationError).fieldErrors).toEqual([
    { path: 'input.spec.params', message: 'type git requires param "url"' },
  ]);
  expect(map(new KubeApiError(500, 'etcdserver: request timed out at 10.0.0.3:2379')).message).not.toContain('10.0.0.3');
});

it('a create that 404s names the missing namespace', () => {
  const e = mapKubeError(new KubeApiError(404, 'x'), { ...target, notFound: { kind: 'Namespace', namespace: '', name: 'ns' } });
  expect(e).toEqual(new NotFoundError('Namespace', '', 'ns'));
});
