import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import { resourceType } from '../../src/resources/catalog.js';
import {
  buildPipelineRun,
  canonicalJson,
  checkPlainParams,
  currentParamsHash,
  paramsHash,
  resolveParams,
  resolveSlot,
  runInlineResources,
  type SlotFilling,
  slotSources,
  staleUsages,
} from '../../src/resources/resolve.js';
import { runResources } from '../../src/resources/tekton.js';

const spec = (name: string) => {
  const s = resourceType(name);
  if (!s) throw new Error(name);
  return s;
};
const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const filling = (over: Partial<SlotFilling>): SlotFilling => ({
  slot: 'source',
  slotType: 'git',
  path: 'slots.source',
  type: 'git',
  params: [{ name: 'url', value: 'https://example.com/r.git' }],
  secrets: [],
  resource: { name: 'repo', resourceVersion: '7' },
  ...over,
});

describe('resolveParams', () => {
  it('gives every plain param of the type: the value, else the default, else ""', () => {
    expect(resolveParams(spec('git'), [{ name: 'url', value: 'https://example.com/r.git' }])).toEqual({
      values: {
        url: 'https://example.com/r.git',
        revision: '',
        refspec: '',
        submodules: 'true',
        depth: '1',
        sslVerify: 'true',
        httpProxy: '',
        httpsProxy: '',
        noProxy: '',
      },
      missing: [],
      secretAsPlain: [],
    });
  });

  it('matches legacy names case-insensitively, lets the last duplicate win, treats blank as unset, drops unknown params', () => {
    const r = resolveParams(spec('git'), [
      { name: 'URL', value: 'https://example.com/old.git' },
      { name: 'url', value: 'https://example.com/new.git' },
      { name: 'Depth', value: ' ' },
      { name: 'colour', value: 'blue' },
    ]);
    expect(r.values.url).toBe('https://example.com/new.git');
    expect(r.values.depth).toBe('1');
    expect(r.values).not.toHaveProperty('colour');
  });

  it('matches the project’s own types exactly', () => {
    const r = resolveParams(spec('config'), [{ name: 'ConfigMapName', value: 'cm' }]);
    expect(r).toEqual({ values: { configMapName: '', keys: '' }, missing: ['configMapName'], secretAsPlain: [] });
  });

  it('names required params that have no value and secret params given as plain ones', () => {
    const r = resolveParams(spec('cluster'), [{ name: 'token', value: 'abc' }]);
    expect(r.missing).toEqual(['url']);
    expect(r.secretAsPlain).toEqual(['token']);
    expect(r.values).not.toHaveProperty('token');
  });
});

describe('paramsHash', () => {
  it('is the sha256 of the canonical JSON, independent of key order', () => {
    expect(canonicalJson({ b: '2', a: '1', c: { z: [1, { y: 2, x: 1 }] } })).toBe(
      '{"a":"1","b":"2","c":{"z":[1,{"x":1,"y":2}]}}',
    );
    expect(paramsHash({ b: '2', a: '1' })).toBe(sha('{"a":"1","b":"2"}'));
    expect(paramsHash({ a: '1', b: '2' })).toBe(paramsHash({ b: '2', a: '1' }));
  });
});

describe('resolveSlot', () => {
  it('makes each secret a workspace `<slot>-<fieldName>` bound to its Secret, the key as file <fieldName>', () => {
    const r = resolveSlot(
      filling({
        slot: 'pr',
        slotType: 'pullRequest',
        type: 'pullRequest',
        params: [{ name: 'url', value: 'https://github.com/o/r/pull/1' }],
        secrets: [{ fieldName: 'authtoken', secretName: 'gh', secretKey: 'token' }],
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.slot?.workspaces).toEqual([
      { name: 'pr-authToken', secret: { secretName: 'gh', items: [{ key: 'token', path: 'authToken' }] } },
    ]);
    expect(r.slot?.values).toEqual({ url: 'https://github.com/o/r/pull/1', provider: '', 'insecure-skip-tls-verify': 'false' });
    expect(r.slot?.secretNames).toEqual([{ name: 'gh', path: 'slots.source' }]);
  });

  it('mounts a config resource’s ConfigMap as workspace `<slot>-files`, with only the keys asked for', () => {
    const withKeys = resolveSlot(
      filling({
        slot: 'settings',
        slotType: 'config',
        type: 'config',
        params: [
          { name: 'configMapName', value: 'app' },
          { name: 'keys', value: 'a.yaml, b.yaml' },
        ],
      }),
    );
    expect(withKeys.slot?.workspaces).toEqual([
      {
        name: 'settings-files',
        configMap: {
          name: 'app',
          items: [
            { key: 'a.yaml', path: 'a.yaml' },
            { key: 'b.yaml', path: 'b.yaml' },
          ],
        },
      },
    ]);
    expect(withKeys.slot?.configMap).toEqual({ name: 'app', keys: ['a.yaml', 'b.yaml'], path: 'slots.source' });
    const all = resolveSlot(
      filling({ slot: 'settings', slotType: 'config', type: 'config', params: [{ name: 'configMapName', value: 'app' }] }),
    );
    expect(all.slot?.workspaces).toEqual([{ name: 'settings-files', configMap: { name: 'app' } }]);
  });

  it('records a stored resource by name and version, an inline spec by a marker', () => {
    const stored = resolveSlot(filling({}));
    expect(stored.slot?.provenance).toEqual({
      slot: 'source',
      name: 'repo',
      type: 'git',
      resourceVersion: '7',
      paramsHash: stored.slot?.paramsHash,
    });
    const inline = resolveSlot(filling({ resource: undefined, path: 'input.overrides[0].resourceSpec' }));
    expect(inline.slot?.provenance).toEqual({ slot: 'source', inline: true, type: 'git', paramsHash: stored.slot?.paramsHash });
  });

  it('refuses a type that is not the slot’s, a missing required param, and a secret given as a plain param', () => {
    expect(resolveSlot(filling({ type: 'image' })).errors).toEqual([
      { path: 'slots.source', message: 'repo is an image resource; slot "source" takes git' },
    ]);
    expect(resolveSlot(filling({ type: 'image', resource: undefined, path: 'input.overrides[1].resourceSpec' })).errors).toEqual([
      { path: 'input.overrides[1].resourceSpec.type', message: 'the spec has type image; slot "source" takes git' },
    ]);
    expect(resolveSlot(filling({ params: [{ name: 'url', value: '' }] })).errors).toEqual([
      { path: 'slots.source', message: 'type git requires param "url"' },
    ]);
    expect(
      resolveSlot(
        filling({
          slotType: 'cluster',
          type: 'cluster',
          params: [
            { name: 'url', value: 'https://k8s.example.com' },
            { name: 'password', value: 'hunter2' },
          ],
        }),
      ).errors,
    ).toEqual([
      {
        path: 'slots.source',
        message: '"password" is secret: give it through secrets (a Secret reference), not as a plain param; runs never copy it',
      },
    ]);
  });
});

describe('slotSources', () => {
  const slots = [
    { name: 'image', type: 'image', description: undefined },
    { name: 'source', type: 'git', description: undefined },
  ];

  it('takes overrides first, then the binding; refuses a slot filled by neither', () => {
    const r = slotSources(slots, new Map([['source', 'repo']]), []);
    expect(r.sources.map((s) => [s.slot.name, s.kind, s.path])).toEqual([['source', 'resource', 'slots.source']]);
    expect(r.errors).toEqual([
      {
        path: 'slots.image',
        message: 'slot "image" (image) is not bound and not overridden: bind a resource or give an override',
      },
    ]);
    const o = slotSources(slots, new Map([['source', 'repo']]), [
      { slot: 'image', resource: 'img' },
      { slot: 'source', resourceSpec: { type: 'git', params: [] } },
    ]);
    expect(o.errors).toEqual([]);
    expect(o.sources.map((s) => [s.slot.name, s.kind, s.path])).toEqual([
      ['image', 'resource', 'input.overrides[0].resource'],
      ['source', 'inline', 'input.overrides[1].resourceSpec'],
    ]);
  });

  it('refuses unknown slots, repeated slots, and overrides with both or neither of resource and spec', () => {
    const r = slotSources(slots, new Map([['source', 'repo']]), [
      { slot: 'nope', resource: 'x' },
      { slot: 'image', resource: 'a', resourceSpec: { type: 'image' } },
      { slot: 'image' },
    ]);
    expect(r.errors).toEqual([
      { path: 'input.overrides[0].slot', message: 'the pipeline has no slot "nope"; its slots: image, source' },
      { path: 'input.overrides[1]', message: 'give exactly one of `resource` and `resourceSpec`' },
      { path: 'input.overrides[2].slot', message: 'slot "image" is overridden twice' },
      { path: 'input.overrides[2]', message: 'give exactly one of `resource` and `resourceSpec`' },
    ]);
  });

  it('checks plain params against slots and each other', () => {
    expect(checkPlainParams([{ name: 'tag' }, { name: 'Source' }, { name: 'tag' }, { name: '' }], slots)).toEqual([
      { path: 'input.params[1].name', message: '"Source" is a slot: it receives the resource\'s params' },
      { path: 'input.params[2].name', message: 'duplicate param "tag"' },
      { path: 'input.params[3].name', message: 'must not be empty' },
    ]);
  });
});

describe('buildPipelineRun', () => {
  it('makes an ordinary v1 PipelineRun: slot params, then plain params, slot workspaces, the provenance annotation', () => {
    const source = resolveSlot(filling({}));
    const pr = resolveSlot(
      filling({
        slot: 'pr',
        slotType: 'pullRequest',
        type: 'pullRequest',
        params: [{ name: 'url', value: 'https://github.com/o/r/pull/1' }],
        secrets: [{ fieldName: 'authToken', secretName: 'gh', secretKey: 'token' }],
        resource: undefined,
        path: 'input.overrides[0].resourceSpec',
      }),
    );
    if (!source.slot || !pr.slot) throw new Error('unresolved');
    const run = buildPipelineRun({
      namespace: 'ns',
      pipeline: 'build',
      generateName: 'build-',
      slots: [source.slot, pr.slot],
      params: [{ name: 'tag', value: 'v1' }],
    });
    expect(run).toEqual({
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      metadata: {
        generateName: 'build-',
        namespace: 'ns',
        annotations: {
          'resources.tekton.dev/resources': JSON.stringify([
            { slot: 'pr', inline: true, type: 'pullRequest', paramsHash: pr.slot.paramsHash },
            { slot: 'source', name: 'repo', type: 'git', resourceVersion: '7', paramsHash: source.slot.paramsHash },
          ]),
        },
      },
      spec: {
        pipelineRef: { name: 'build' },
        params: [
          { name: 'pr', value: { url: 'https://github.com/o/r/pull/1', provider: '', 'insecure-skip-tls-verify': 'false' } },
          { name: 'source', value: source.slot.values },
          { name: 'tag', value: 'v1' },
        ],
        workspaces: [{ name: 'pr-authToken', secret: { secretName: 'gh', items: [{ key: 'token', path: 'authToken' }] } }],
      },
    });
    const asStored: KubeObject = { metadata: { name: 'build-x', annotations: run.metadata.annotations } };
    expect(runResources(asStored).map((u) => u.name)).toEqual(['repo']);
    expect(runInlineResources(asStored)).toEqual([{ slot: 'pr', type: 'pullRequest', paramsHash: pr.slot.paramsHash }]);
  });
});

describe('stale runs', () => {
  const resource = {
    metadata: { name: 'repo', resourceVersion: '9' },
    spec: { type: 'git', params: [{ name: 'url', value: 'https://example.com/r.git' }] },
  };
  const run = (rv: string): KubeObject => ({
    metadata: {
      name: `run-${rv}`,
      annotations: {
        'resources.tekton.dev/resources': JSON.stringify([{ slot: 'source', name: 'repo', type: 'git', resourceVersion: rv }]),
      },
    },
  });

  it('are runs that recorded another resourceVersion of the resource', () => {
    expect(staleUsages(run('7'), resource).map((u) => u.resourceVersion)).toEqual(['7']);
    expect(staleUsages(run('9'), resource)).toEqual([]);
  });

  it('compares params with the hash a run would record now', () => {
    expect(currentParamsHash(resource)).toBe(resolveSlot(filling({})).slot?.paramsHash);
  });
});
