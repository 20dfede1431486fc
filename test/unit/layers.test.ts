import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The layers point one way (docs/architecture.md): Biome's noRestrictedImports, configured per folder in
 * biome.json, refuses an import from a lower layer to a higher one. This test proves the configuration
 * refuses what it should (probe files linted with the project's biome.json in a scratch folder) and that
 * src/ has no such import.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const biome = join(root, 'node_modules/.bin/biome');
const rule = 'style/noRestrictedImports';

interface Diagnostic {
  category: string;
  location: { path: string; start: { line: number } };
}

/** `path:line` of each refused import. */
async function restrictedImports(cwd: string, paths: string[]): Promise<string[]> {
  // biome exits non-zero when it finds errors; the JSON report is on stdout either way.
  const out = await run(biome, ['lint', `--only=${rule}`, '--reporter=json', ...paths], { cwd }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  const report = JSON.parse(out.stdout) as { diagnostics: Diagnostic[] };
  return report.diagnostics
    .filter((d) => d.category === `lint/${rule}`)
    .map((d) => `${d.location.path}:${d.location.start.line}`);
}

// [file, its import, allowed]
const probes: [string, string, boolean][] = [
  ['src/kube/probe.ts', './kinds.js', true],
  ['src/kube/probe.ts', '../errors.js', false],
  ['src/kube/probe.ts', '../resources/tekton.js', false],
  ['src/kube/probe.ts', '../subscriptions/EventLog.js', false],
  ['src/local/probe.ts', '../kube/KubeClient.js', true],
  ['src/local/probe.ts', '../app.js', false],
  ['src/resources/probe.ts', '../kube/read.js', true],
  ['src/resources/probe.ts', '../errors.js', true],
  ['src/resources/probe.ts', '../schema/builder.js', false],
  ['src/resources/probe.ts', '../context.js', false],
  ['src/auth/probe.ts', '../loaders.js', false],
  ['src/subscriptions/probe.ts', '../schema/refs.js', false],
  ['src/errors.ts', './resources/validation.js', true],
  ['src/errors.ts', './schema/errors.js', false],
  ['src/loaders.ts', './resources/indexes.js', true],
  ['src/loaders.ts', './schema/pagination.js', false],
  ['src/schema/probe.ts', '../context.js', true],
  ['src/schema/probe.ts', '../plugins/useQueryLimits.js', false],
  ['src/schema/probe.ts', '../yoga.js', false],
  ['src/plugins/probe.ts', '../context.js', true],
  ['src/plugins/probe.ts', '../schema/pagination.js', false],
  ['src/yoga.ts', './schema/index.js', true],
  ['src/yoga.ts', './index.js', false],
  ['src/app.ts', '../test/helpers/cluster.js', false],
];

describe('biome.json refuses imports that point up', () => {
  let dir: string;
  let refused: string[];
  /** Each probe's import is on its own line of its file: `file:line`. */
  const where = probes.map(([file], i) => `${file}:${probes.slice(0, i).filter(([f]) => f === file).length + 1}`);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'layers-'));
    copyFileSync(join(root, 'biome.json'), join(dir, 'biome.json'));
    const files = [...new Set(probes.map(([file]) => file))];
    for (const file of files) {
      const imports = probes.filter(([f]) => f === file).map(([, from], i) => `import { x${i} } from '${from}';`);
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      writeFileSync(join(dir, file), `${imports.join('\n')}\nexport const y = [${imports.map((_, i) => `x${i}`).join(', ')}];\n`);
    }
    refused = await restrictedImports(dir, files);
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(probes.map((p, i) => [...p, i] as const))('%s importing %s: allowed %s', (_file, _from, allowed, i) => {
    expect(refused.includes(where[i] ?? '')).toBe(!allowed);
  });
});

it('src/ has no import from a lower layer to a higher one', async () => {
  expect(await restrictedImports(root, ['src'])).toEqual([]);
}, 30_000);
