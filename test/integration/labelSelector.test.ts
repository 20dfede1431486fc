import { afterAll, beforeAll, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import type { KubeList } from '../../src/kube/KubeClient.js';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { LabelSelectorError, parseLabelSelector } from '../../src/kube/labelSelector.js';
import { createNamespace, kubeClient } from '../helpers/cluster.js';

/**
 * The gateway filters cached lists with its own label-selector parser; these are the apiserver's answers to the
 * same selectors over the same objects: refused by both, or selecting the same objects.
 */
const admin = kubeClient('admin');
let namespace: { name: string; remove: () => Promise<void> };

const objects: Record<string, Record<string, string>> = {
  plain: {},
  shop: { app: 'shop', tier: 'web' },
  api: { app: 'shop', tier: 'api', 'example.com/owner': 'team-a', size: '10' },
  blank: { app: '', in: 'x', size: '3' },
};

beforeAll(async () => {
  namespace = await createNamespace('selectors');
  for (const [name, labels] of Object.entries(objects)) {
    await admin.request('POST', resourcePath(kinds.PipelineResource, namespace.name), {
      body: {
        apiVersion: 'tekton.dev/v1alpha1',
        kind: 'PipelineResource',
        metadata: { name, labels },
        spec: { type: 'image', params: [{ name: 'url', value: 'registry.example.com/x' }] },
      },
    });
  }
});
afterAll(() => namespace?.remove());

/** The apiserver's selection, by name; undefined when it refuses the selector (400). */
async function apiserverSelects(selector: string): Promise<string[] | undefined> {
  try {
    const list = await admin.request<KubeList>('GET', resourcePath(kinds.PipelineResource, namespace.name), {
      query: { labelSelector: selector },
    });
    return list.items.map((o) => o.metadata.name).sort();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 400) return undefined;
    throw err;
  }
}

function gatewaySelects(selector: string): string[] | undefined {
  let matches: ReturnType<typeof parseLabelSelector>;
  try {
    matches = parseLabelSelector(selector);
  } catch (err) {
    if (err instanceof LabelSelectorError) return undefined;
    throw err;
  }
  return Object.entries(objects)
    .filter(([, labels]) => matches(labels))
    .map(([name]) => name)
    .sort();
}

// The expected answers are written down too, so a change in both parsers at once still shows.
const all = ['api', 'blank', 'plain', 'shop'];
it.each<[string, string[] | undefined]>([
  ['', all],
  ['   ', all],
  ['app=shop', ['api', 'shop']],
  ['app==shop', ['api', 'shop']],
  ['app = shop', ['api', 'shop']],
  ['app!=shop', ['blank', 'plain']],
  ['app', ['api', 'blank', 'shop']],
  ['!app', ['plain']],
  ['app=', ['blank']],
  ['app==', ['blank']],
  ['app!=', ['api', 'plain', 'shop']],
  ['tier in (web, api)', ['api', 'shop']],
  ['tier in(web)', ['shop']],
  ['tier notin (web)', ['api', 'blank', 'plain']],
  ['tier in ()', []],
  ['app in ()', ['blank']],
  ['app in (shop,)', ['api', 'blank', 'shop']],
  ['app in (,shop)', ['api', 'blank', 'shop']],
  ['app in (x,,y)', ['blank']],
  ['app=shop,tier in (api)', ['api']],
  ['app=shop , tier=web', ['shop']],
  ['example.com/owner=team-a', ['api']],
  ['in=x', ['blank']],
  ['size>5', ['api']],
  ['size<5', ['blank']],
  ['size>x', undefined],
  ['size>-1', undefined],
  ['size>99999999999999999999', undefined],
  ['app=shop,', undefined],
  [',app=shop', undefined],
  ['app=shop,,tier=web', undefined],
  ['a in (', undefined],
  ['a in (x', undefined],
  ['a in x', undefined],
  ['a in (x y)', undefined],
  ['=x', undefined],
  ['a=b=c', undefined],
  ['a b', undefined],
  ['!a=b', undefined],
  ['-a=b', undefined],
  ['a_=b', undefined],
  ['_a=b', undefined],
  ['a=-b', undefined],
  ['a=b c', undefined],
  ['a=b/c', undefined],
  ['/a=b', undefined],
  ['a/=b', undefined],
  ['Ex_ample.com/a=b', undefined],
  [`${'a'.repeat(64)}=b`, undefined],
  [`a=${'b'.repeat(64)}`, undefined],
  [`${'a'.repeat(63)}=${'b'.repeat(63)}`, []],
  ['a.b-c_d=E.f-G_h', []],
])('%j selects %j, as the apiserver does', async (selector, expected) => {
  expect(await apiserverSelects(selector)).toEqual(expected);
  expect(gatewaySelects(selector)).toEqual(expected);
});
