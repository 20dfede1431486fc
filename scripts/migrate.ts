/**
 * `npm run migrate -- <file.yaml> [--namespace <ns>]`: migrates legacy Tekton
 * manifests that use PipelineResources (docs/bindings.md) and prints the
 * migrated YAML on stdout and the report on stderr. Writes nothing to any
 * cluster: apply the output with kubectl, or use the `migrateLegacyPipeline`
 * mutation with `apply: true`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ValidationError } from '../src/errors.js';
import { type MigrationNote, migratedObjects, migrateLegacy } from '../src/resources/migrate.js';
import { defaultYamlLimits, readYaml } from '../src/resources/readYaml.js';
import { writeYamlStream } from '../src/resources/writeYaml.js';

/** The user's own file: the gateway's nesting and alias bounds, but any size and a minute to read it. */
const fileLimits = { ...defaultYamlLimits, maxBytes: Number.MAX_SAFE_INTEGER, parseTimeoutMs: 60_000 };

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { namespace: { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (values.help || !file || positionals.length > 1) {
    process.stderr.write('usage: npm run migrate -- <file.yaml> [--namespace <ns>]\n');
    return values.help ? 0 : 2;
  }
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    const m = migrateLegacy(await readYaml(text, fileLimits), { namespace: values.namespace });
    process.stdout.write(writeYamlStream(migratedObjects(m)));
    const section = (title: string, notes: MigrationNote[]) =>
      `${title}:\n${notes.length ? notes.map((n) => `  - ${n.path}: ${n.message}\n`).join('') : '  (none)\n'}`;
    const refs = m.references.map((r) => ({ path: r.path, message: `PipelineResource "${r.resource}" must exist` }));
    process.stderr.write(`${section('Changed', m.changes)}${section('Not carried over', [...m.notCarried, ...refs])}`);
    return 0;
  } catch (err) {
    if (err instanceof ValidationError) {
      process.stderr.write(`Cannot migrate ${file}:\n${err.fieldErrors.map((e) => `  - ${e.path}: ${e.message}\n`).join('')}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
