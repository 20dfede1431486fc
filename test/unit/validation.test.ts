import { describe, expect, it } from 'vitest';
import { resourceTypes } from '../../src/resources/catalog.js';
import { isSecretParam, shownParams } from '../../src/resources/PipelineResourceObject.js';
import { validatePipelineResourceInput } from '../../src/resources/validation.js';

const valid = { namespace: 'team-a', name: 'repo', type: 'git', params: [{ name: 'url', value: 'https://example.com/r.git' }] };
const errors = (input: unknown) => {
  const r = validatePipelineResourceInput(input);
  return r.ok ? [] : r.errors;
};

describe('param names (decision 003)', () => {
  it('match the legacy types case-insensitively, as Tekton and the CRD do', () => {
    expect(errors({ ...valid, params: [{ name: 'URL', value: 'https://example.com/r.git' }] })).toEqual([]);
    expect(
      errors({
        ...valid,
        params: [
          { name: 'Revision', value: 'main' },
          { name: 'url', value: 'https://x.example/r' },
        ],
      }),
    ).toEqual([]);
  });

  it('count `URL` and `url` as one param: a duplicate', () => {
    expect(
      errors({
        ...valid,
        params: [
          { name: 'url', value: 'https://example.com/a.git' },
          { name: 'URL', value: 'https://example.com/b.git' },
        ],
      }),
    ).toEqual([{ path: 'input.params[1].name', message: 'duplicate param "URL"' }]);
  });

  it('match the project’s own types exactly', () => {
    const config = { namespace: 'ns', name: 'c', type: 'config', params: [{ name: 'ConfigMapName', value: 'cm' }] };
    expect(errors(config).map((e) => e.message)).toEqual([
      'unknown param "ConfigMapName" for type config; known: configMapName, keys',
      'type config requires param "configMapName"',
    ]);
  });

  it('find a secret param under any case of a legacy type', () => {
    const cluster = { namespace: 'ns', name: 'c', type: 'cluster', params: [{ name: 'url', value: 'https://k.example' }] };
    expect(errors({ ...cluster, params: [...cluster.params, { name: 'Token', value: 'x' }] })).toEqual([
      { path: 'input.params[1].name', message: '"Token" is secret: give it through secrets, not as a param' },
    ]);
  });
});

describe('validatePipelineResourceInput', () => {
  it('accepts a minimal valid resource of every type', () => {
    const sample: Record<string, string> = {
      url: 'https://example.com/x',
      targetURI: 'https://example.com/e',
      type: 'gcs',
      location: 'gs://b/p',
      configMapName: 'cm',
      engine: 'postgres',
      host: 'db',
      port: '5432',
      database: 'd',
    };
    for (const t of resourceTypes) {
      const params = t.params.filter((p) => p.required).map((p) => ({ name: p.name, value: sample[p.name] ?? 'x' }));
      expect(errors({ namespace: 'ns', name: `a-${t.name.toLowerCase()}`, type: t.name, params }), t.name).toEqual([]);
    }
  });

  it('accepts scp-like git URLs', () => {
    expect(errors({ ...valid, params: [{ name: 'url', value: 'git@github.com:org/repo.git' }] })).toEqual([]);
  });

  it.each([
    ['name', { ...valid, name: 'UPPER' }, 'input.name'],
    ['name length', { ...valid, name: 'a'.repeat(254) }, 'input.name'],
    ['namespace', { ...valid, namespace: 'a.b' }, 'input.namespace'],
    ['label key', { ...valid, labels: [{ key: 'bad key', value: 'v' }] }, 'input.labels[0].key'],
    ['label prefix', { ...valid, labels: [{ key: 'Bad_Prefix/k', value: 'v' }] }, 'input.labels[0].key'],
    ['label value', { ...valid, labels: [{ key: 'k', value: '-v' }] }, 'input.labels[0].value'],
    [
      'duplicate label',
      {
        ...valid,
        labels: [
          { key: 'k', value: 'a' },
          { key: 'k', value: 'b' },
        ],
      },
      'input.labels[1].key',
    ],
    [
      'param value size',
      { ...valid, params: [{ name: 'url', value: `https://e.com/${'x'.repeat(5000)}` }] },
      'input.params[0].value',
    ],
    [
      'too many params',
      { ...valid, params: Array.from({ length: 65 }, (_, i) => ({ name: `p${i}`, value: '' })) },
      'input.params',
    ],
    ['duplicate param', { ...valid, params: [...valid.params, { name: 'url', value: 'https://e.com' }] }, 'input.params[1].name'],
    ['enum value', { ...valid, params: [...valid.params, { name: 'sslVerify', value: 'maybe' }] }, 'input.params[1].value'],
    [
      'secret key',
      { ...valid, type: 'pullRequest', secrets: [{ fieldName: 'authToken', secretName: 's', secretKey: 'a b' }] },
      'input.secrets[0].secretKey',
    ],
    ['description', { ...valid, description: 'x'.repeat(2000) }, 'input.description'],
  ])('names the field for a bad %s', (_what, input, path) => {
    expect(errors(input).map((e) => e.path)).toContain(path);
  });

  it('refuses input that is not an object at all', () => {
    expect(errors(null)).toEqual([{ path: 'input', message: expect.any(String) }]);
  });
});

it('hides a stored param by name when any type keeps a param of that name secret, and no plain param has such a name', () => {
  const secretNames = resourceTypes.flatMap((t) => t.params.filter((p) => p.secret).map((p) => p.name.toLowerCase()));
  expect(new Set(secretNames)).toEqual(
    new Set(['authtoken', 'password', 'token', 'cadata', 'google_application_credentials', 'user']),
  );
  for (const t of resourceTypes) for (const p of t.params) expect(isSecretParam(p.name)).toBe(p.secret);
  const legacy = {
    apiVersion: 'tekton.dev/v1alpha1',
    kind: 'PipelineResource',
    metadata: { name: 'prod' },
    spec: {
      type: 'cluster',
      params: [
        { name: 'url', value: 'https://k.example' },
        { name: 'Password', value: 'hunter2' },
        { name: 'token', value: '' },
      ],
    },
  };
  expect(shownParams(legacy)).toEqual([
    { name: 'url', value: 'https://k.example', secret: false, set: true },
    { name: 'Password', value: null, secret: true, set: true },
    { name: 'token', value: null, secret: true, set: false },
  ]);
});
