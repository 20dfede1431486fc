import { expect, it } from 'vitest';
import { LabelSelectorError, parseLabelSelector } from '../../src/kube/labelSelector.js';

const labels = { app: 'shop', tier: 'web', 'example.com/owner': 'team-a' };

it.each([
  ['app=shop', true],
  ['app==shop', true],
  ['app!=shop', false],
  ['app=other', false],
  ['app', true],
  ['!app', false],
  ['!missing', true],
  ['missing!=x', true],
  ['tier in (web, api)', true],
  ['tier notin (web)', false],
  ['app=shop,tier in (api)', false],
  ['example.com/owner=team-a', true],
  ['', true],
])('%s matches: %s', (selector, expected) => {
  expect(parseLabelSelector(selector)(labels)).toBe(expected);
});

it.each(['a in (', '=x', 'a=b=c', 'a b'])('refuses %s', (selector) => {
  expect(() => parseLabelSelector(selector)).toThrow(LabelSelectorError);
});
