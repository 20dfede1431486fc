import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import {
  checkRunParams,
  checkTaskRunTemplate,
  checkTimeouts,
  declaredParams,
  parseGoDuration,
  runInputBounds,
} from '../../src/resources/runInputs.js';
import { checkRunWorkspaces } from '../../src/resources/runWorkspaces.js';

const pipeline: KubeObject = {
  metadata: { name: 'p' },
  spec: {
    params: [
      { name: 'source', type: 'object' },
      { name: 'greeting' },
      { name: 'mode', default: 'fast', enum: ['fast', 'slow'] },
      { name: 'flags', type: 'array' },
      { name: 'target', properties: { namespace: {}, port: {} } },
      { name: 'inferred', default: ['a'] },
      { name: 'endpoint', type: 'object', properties: { host: {}, port: {} }, default: { port: '443' } },
    ],
    workspaces: [{ name: 'scratch' }, { name: 'cache', optional: true }, { name: 'source-files' }],
  },
};
const slots = [{ name: 'source', type: 'config', description: undefined }];

describe('declaredParams', () => {
  it('types params as Tekton defaults them: declared, else the default’s type, else object with properties, else string', () => {
    expect(declaredParams(pipeline).map((d) => [d.name, d.type, d.keys, d.defaultKeys, d.hasDefault, d.allowed])).toEqual([
      ['source', 'object', [], [], false, undefined],
      ['greeting', 'string', [], [], false, undefined],
      ['mode', 'string', [], [], true, ['fast', 'slow']],
      ['flags', 'array', [], [], false, undefined],
      ['target', 'object', ['namespace', 'port'], [], false, undefined],
      ['inferred', 'array', [], [], true, undefined],
      ['endpoint', 'object', ['host', 'port'], ['port'], true, undefined],
    ]);
  });
});

describe('checkRunParams', () => {
  const check = (params: Parameters<typeof checkRunParams>[1]) => checkRunParams('p', params, declaredParams(pipeline), slots);
  const required = [
    { name: 'greeting', value: 'yes' },
    { name: 'flags', values: ['-v', 'on'] },
    {
      name: 'target',
      properties: [
        { name: 'port', value: '0b101' },
        { name: 'namespace', value: 'no' },
      ],
    },
  ];

  it('an object param need not repeat the keys its default gives, as Tekton counts them provided', () => {
    const out = check([...required, { name: 'endpoint', properties: [{ name: 'host', value: 'h' }] }]);
    expect(out.errors).toEqual([]);
    expect(out.params.at(-1)).toEqual({ name: 'endpoint', value: { host: 'h' } });
    expect(check([...required, { name: 'endpoint', properties: [{ name: 'port', value: '80' }] }]).errors).toEqual([
      { path: 'input.params[3].properties', message: '"endpoint" needs keys "host"' },
    ]);
  });

  it('passes every type on as Tekton reads it: string, array, object', () => {
    expect(check(required)).toEqual({
      params: [
        { name: 'greeting', value: 'yes' },
        { name: 'flags', value: ['-v', 'on'] },
        { name: 'target', value: { port: '0b101', namespace: 'no' } },
      ],
      errors: [],
    });
  });

  it('refuses, naming the field: undeclared, wrong type, not one value, missing or unknown keys, outside the enum, missing', () => {
    expect(
      check([
        { name: 'nope', value: 'x' },
        { name: 'greeting', values: ['x'] },
        { name: 'flags', value: 'x', values: ['y'] },
        {
          name: 'target',
          properties: [
            { name: 'namespace', value: 'a' },
            { name: 'extra', value: 'b' },
          ],
        },
        { name: 'mode', value: 'medium' },
      ]).errors,
    ).toEqual([
      {
        path: 'input.params[0].name',
        message: 'pipeline p declares no param "nope"; its params: greeting, mode, flags, target, inferred, endpoint',
      },
      { path: 'input.params[1].values', message: '"greeting" is a string param: give `value`' },
      { path: 'input.params[2]', message: 'give exactly one of `value` (string), `values` (array) and `properties` (object)' },
      { path: 'input.params[3].properties', message: '"target" needs keys "port"' },
      { path: 'input.params[3].properties', message: '"target" declares no keys "extra"; its keys: namespace, port' },
      { path: 'input.params[4].value', message: '"mode" allows only "fast", "slow"' },
    ]);
    expect(check([]).errors).toEqual([
      { path: 'input.params', message: 'pipeline p requires param "greeting" (string, no default)' },
      { path: 'input.params', message: 'pipeline p requires param "flags" (array, no default)' },
      { path: 'input.params', message: 'pipeline p requires param "target" (object, no default)' },
    ]);
  });

  it('bounds the number of params and of values', () => {
    const many = Array.from({ length: runInputBounds.params + 1 }, (_, i) => ({ name: `p${i}`, value: '' }));
    expect(check(many).errors).toEqual([{ path: 'input.params', message: `at most ${runInputBounds.params} params` }]);
    const long = check([...required.slice(0, 1), { name: 'flags', values: Array(runInputBounds.values + 1).fill('x') }]);
    expect(long.errors[0]).toEqual({ path: 'input.params[1].values', message: `at most ${runInputBounds.values} values` });
  });
});

describe('checkRunWorkspaces', () => {
  it('binds each kind of volume as Tekton v1 spells it, and records the Secrets and ConfigMaps to check', () => {
    const p: KubeObject = {
      metadata: { name: 'p' },
      spec: { workspaces: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name })) },
    };
    const out = checkRunWorkspaces(
      'p',
      [
        { name: 'a', emptyDir: {} },
        { name: 'b', persistentVolumeClaim: { claimName: 'cache' }, subPath: 'x/y' },
        { name: 'c', volumeClaimTemplate: { storage: '1Gi', storageClassName: 'fast' } },
        { name: 'd', configMap: { name: 'conf', items: [{ key: 'k', path: 'f' }] } },
        { name: 'e', secret: { secretName: 'creds' } },
      ],
      p,
      [],
    );
    expect(out.errors).toEqual([]);
    expect(out.workspaces).toEqual([
      { name: 'a', emptyDir: {} },
      { name: 'b', subPath: 'x/y', persistentVolumeClaim: { claimName: 'cache' } },
      {
        name: 'c',
        volumeClaimTemplate: {
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'fast' },
        },
      },
      { name: 'd', configMap: { name: 'conf', items: [{ key: 'k', path: 'f' }] } },
      { name: 'e', secret: { secretName: 'creds' } },
    ]);
    expect(out.references).toEqual({
      secrets: [{ name: 'creds', path: 'input.workspaces[4].secret.secretName' }],
      configMaps: [{ name: 'conf', keys: ['k'], path: 'input.workspaces[3].configMap' }],
    });
  });

  it('refuses undeclared, slot-owned, twice bound, sourceless and malformed bindings, and unbound required workspaces', () => {
    const out = checkRunWorkspaces(
      'p',
      [
        { name: 'nope', emptyDir: {} },
        { name: 'source-files', emptyDir: {} },
        { name: 'cache' },
        { name: 'scratch', emptyDir: { medium: 'Disk', sizeLimit: 'lots' } },
        { name: 'scratch', emptyDir: {} },
      ],
      pipeline,
      ['source-files'],
    );
    expect(out.errors).toEqual([
      { path: 'input.workspaces[0].name', message: 'pipeline p declares no workspace "nope"; its workspaces: scratch, cache' },
      { path: 'input.workspaces[1].name', message: '"source-files" is bound by a slot\'s resource (docs/bindings.md)' },
      {
        path: 'input.workspaces[2]',
        message: 'give exactly one of `emptyDir`, `persistentVolumeClaim`, `volumeClaimTemplate`, `configMap`, `secret`',
      },
      { path: 'input.workspaces[3].emptyDir.medium', message: 'must be empty (the node’s disk) or "Memory"' },
      { path: 'input.workspaces[3].emptyDir.sizeLimit', message: 'must be a Kubernetes quantity, e.g. 1Gi' },
      { path: 'input.workspaces[4].name', message: 'workspace "scratch" is bound twice' },
    ]);
    expect(checkRunWorkspaces('p', [], pipeline, ['source-files']).errors).toEqual([
      { path: 'input.workspaces', message: 'pipeline p requires workspace "scratch"' },
    ]);
  });
});

describe('checkTimeouts', () => {
  it('reads Go durations', () => {
    expect([parseGoDuration('1h30m'), parseGoDuration('90s'), parseGoDuration('0'), parseGoDuration('1.5h')]).toEqual([
      5_400_000, 90_000, 0, 5_400_000,
    ]);
    expect([parseGoDuration(''), parseGoDuration('1d'), parseGoDuration('-1h'), parseGoDuration('10')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('keeps what Tekton’s webhook admits and refuses what it refuses', () => {
    expect(checkTimeouts({ pipeline: '1h', tasks: '45m', finally: '15m' })).toEqual({
      errors: [],
      timeouts: { pipeline: '1h', tasks: '45m', finally: '15m' },
    });
    expect(checkTimeouts({ pipeline: '0', tasks: '2h' }).errors).toEqual([]);
    expect(checkTimeouts({})).toEqual({ errors: [] });
    expect(checkTimeouts({ pipeline: '1 hour' }).errors).toEqual([
      { path: 'input.timeouts.pipeline', message: 'must be a duration such as 1h30m, 90s or 0 (none)' },
    ]);
    expect(checkTimeouts({ tasks: '1h' }).errors).toEqual([
      { path: 'input.timeouts.pipeline', message: 'give it with `tasks` or `finally`, which must fit within it' },
    ]);
    expect(checkTimeouts({ pipeline: '1h', tasks: '0', finally: '2h' }).errors).toEqual([
      { path: 'input.timeouts.tasks', message: 'must be within timeouts.pipeline (1h)' },
      { path: 'input.timeouts.finally', message: 'must be within timeouts.pipeline (1h)' },
      { path: 'input.timeouts', message: 'tasks + finally must be within timeouts.pipeline (1h)' },
    ]);
  });
});

describe('checkTaskRunTemplate', () => {
  it('sets the ServiceAccount and node selector, and refuses malformed ones', () => {
    expect(
      checkTaskRunTemplate({ serviceAccountName: 'builder', nodeSelector: [{ key: 'kubernetes.io/os', value: 'linux' }] }),
    ).toEqual({
      errors: [],
      template: { serviceAccountName: 'builder', podTemplate: { nodeSelector: { 'kubernetes.io/os': 'linux' } } },
    });
    expect(checkTaskRunTemplate({})).toEqual({ errors: [] });
    expect(
      checkTaskRunTemplate({
        serviceAccountName: 'Builder!',
        nodeSelector: [
          { key: 'a', value: 'x y' },
          { key: 'a', value: 'z' },
        ],
      }).errors,
    ).toEqual([
      { path: 'input.taskRunTemplate.serviceAccountName', message: 'must be a DNS-1123 name' },
      { path: 'input.taskRunTemplate.nodeSelector[0].value', message: 'must be a Kubernetes label value' },
      { path: 'input.taskRunTemplate.nodeSelector[1].key', message: '"a" is given twice' },
    ]);
  });
});
