import { expect, it } from 'vitest';
import { GatewayMetrics, operationNameMaxLength } from '../../src/metrics.js';

it('keeps the first 3 operation names, cut to 64 characters; the rest are `other`, unnamed ones `anonymous`', () => {
  const metrics = new GatewayMetrics({ operationNames: 3 });
  const long = `Op_${'x'.repeat(200_000)}`;
  expect(metrics.operationLabel(long)).toBe(long.slice(0, 64));
  expect(operationNameMaxLength).toBe(64);
  expect(metrics.operationLabel('Types')).toBe('Types');
  expect(metrics.operationLabel(undefined)).toBe('anonymous');
  expect(metrics.operationLabel('Third')).toBe('Third');
  expect(metrics.operationLabel('Fourth')).toBe('other');
  // Names already kept stay kept; a long name with a kept 64-character prefix is that label.
  expect(metrics.operationLabel('Types')).toBe('Types');
  expect(metrics.operationLabel(`${long}yyy`)).toBe(long.slice(0, 64));
});

it('keeps no names at all with a cap of 0', () => {
  const metrics = new GatewayMetrics({ operationNames: 0 });
  expect(metrics.operationLabel('Types')).toBe('other');
  expect(metrics.operationLabel(undefined)).toBe('anonymous');
});
