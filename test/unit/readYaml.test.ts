import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { defaultYamlLimits, readYaml } from '../../src/resources/readYaml.js';

const refusal = async (text: string, limits = defaultYamlLimits) => {
  try {
    await readYaml(text, limits);
  } catch (err) {
    if (err instanceof ValidationError) return err.fieldErrors;
    throw err;
  }
  throw new Error('not refused');
};

const laughs = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
].join('\n');

it('reads every document, and says which is not YAML', async () => {
  expect(await readYaml('a: 1\n---\nb: [1, {c: d}]\n---\nkind: [oops', defaultYamlLimits)).toEqual([
    { value: { a: 1 } },
    { value: { b: [1, { c: 'd' }] } },
    { error: expect.stringMatching(/^not YAML: /) },
  ]);
});

it('refuses an input over the size limit before parsing it', async () => {
  expect(await refusal('a: b\n'.repeat(30_000))).toEqual([{ path: 'yaml', message: '150000 bytes; at most 131072' }]);
});

it('refuses nesting past the depth limit, naming the document', async () => {
  const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  expect(await readYaml(`a: 1\n---\n${nested(31)}`, defaultYamlLimits)).toHaveLength(2);
  expect(await refusal(`a: 1\n---\n${nested(33)}`)).toEqual([
    { path: 'yaml', message: 'documents[1]: nested deeper than 32 levels' },
  ]);
});

it('refuses alias expansion (billion laughs) with a typed error', async () => {
  expect(await refusal(laughs)).toEqual([{ path: 'yaml', message: 'documents[0]: its aliases expand to more than 100 nodes' }]);
  // A few aliases, as hand-written manifests use them, are fine.
  expect(await readYaml('base: &b {x: 1}\nuse: *b\n', defaultYamlLimits)).toEqual([{ value: { base: { x: 1 }, use: { x: 1 } } }]);
});

it('stops a parse that takes too long, off the event loop', async () => {
  // ~120 KB of nested flow sequences: seconds for the `yaml` package, inside the size limit.
  const slow = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = performance.now();
  expect(await refusal(slow, { ...defaultYamlLimits, parseTimeoutMs: 300 })).toEqual([
    { path: 'yaml', message: 'not read within 300 ms: split it or simplify its nesting' },
  ]);
  lag.disable();
  expect(performance.now() - started).toBeLessThan(1_500);
  // The event loop kept turning: before, such a parse blocked it for its whole duration.
  expect(lag.max / 1e6).toBeLessThan(250);
});

it('reads at most 2 inputs at once and lets 16 wait; past that, UnavailableError, and the others still finish', async () => {
  const slow = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
  const limits = { ...defaultYamlLimits, parseTimeoutMs: 300 };
  const outcomes = await Promise.allSettled(Array.from({ length: 19 }, () => readYaml(slow, limits)));
  const names = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).constructor.name : 'fulfilled'));
  expect(names.filter((n) => n === 'ValidationError')).toHaveLength(18);
  expect(names.filter((n) => n === 'UnavailableError')).toHaveLength(1);
  expect(await readYaml('a: 1', defaultYamlLimits)).toEqual([{ value: { a: 1 } }]);
}, 60_000);
