import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { writeYaml, writeYamlStream } from '../../src/resources/writeYaml.js';

/**
 * Every YAML the API and the CLI emit goes through writeYaml. kubectl reads it
 * with go-yaml v2 (YAML 1.1 plus Go's number syntax): what it reads must be
 * exactly the object written, whatever the strings in it.
 */

const read11 = (text: string) => parse(text, { version: '1.1', merge: true });
const read12 = (text: string) => parse(text, { version: '1.2' });

/** Strings kubectl would read as something else when written plain (issue 12, and go-yaml's resolve table). */
const ambiguous = [
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Y',
  'N',
  'Yes',
  'NO',
  'On',
  'OFF',
  'true',
  'False',
  'null',
  'Null',
  '~',
  '',
  '0b101',
  '0o17',
  '012',
  '0x1F',
  '1_000',
  '1:20',
  '1e3',
  '-1',
  '+1',
  '.5',
  '.inf',
  '-.Inf',
  '.NaN',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '<<',
  '=',
  '!x',
  '&a',
  '*a',
  '- x',
  'a: b',
  '#c',
  '@x',
  '`x',
  '%x',
  ' lead',
  'trail ',
  'multi\nline',
  'tab\there',
  '\u0085',
  '\u2028',
  'quote"s',
  "it's",
];

describe('writeYaml', () => {
  it.each(ambiguous)('writes %j so that YAML 1.1 and 1.2 readers both read it back as that string', (s) => {
    const text = writeYaml({ value: s, list: [s], [s || 'empty']: s });
    expect(read11(text)).toEqual({ value: s, list: [s], [s || 'empty']: s });
    expect(read12(text)).toEqual({ value: s, list: [s], [s || 'empty']: s });
  });

  it('quotes what go-yaml reads as a number, a boolean or a merge key, even where YAML 1.1 itself would not', () => {
    expect(writeYaml({ a: '0o17', b: '1_000', c: 'y', d: '<<', e: '=' })).toBe(
      'a: "0o17"\nb: "1_000"\nc: "y"\nd: "<<"\ne: "="\n',
    );
    expect(writeYaml({ '<<': 'no', on: ['off'] })).toBe('"<<": "no"\n"on":\n  - "off"\n');
  });

  it('leaves plain words plain and numbers and booleans as they are', () => {
    expect(writeYaml({ name: 'git-clone', count: 3, on: true, url: 'https://example.com/r.git' })).toBe(
      'name: git-clone\ncount: 3\n"on": true\nurl: https://example.com/r.git\n',
    );
  });

  it('property: any object of random strings reads back exactly, as YAML 1.1 and as 1.2', () => {
    const word = fc.oneof(
      fc.constantFrom(...ambiguous),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme-ascii' }),
      fc.stringMatching(/^[-+.]?[0-9_oxb.:eE-]{1,8}$/),
      fc.stringMatching(/^[yYnNoOtTfF][a-zA-Z]{0,4}$/),
    );
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        word,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(word, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), (docs) => {
        const text = writeYamlStream(docs);
        const read = (version: '1.1' | '1.2') =>
          parseAllDocuments(text, { version, merge: version === '1.1' }).map((d) => {
            if (!('toJS' in d)) throw new Error('not a stream');
            expect(d.errors).toEqual([]);
            return d.toJS();
          });
        expect(read('1.1')).toEqual(docs);
        expect(read('1.2')).toEqual(docs);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});

it('the migrate CLI prints YAML that a YAML 1.1 reader reads as the migrated objects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-cli-'));
  const file = join(dir, 'legacy.yaml');
  writeFileSync(
    file,
    `apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: hello, namespace: ci}
spec:
  params: [{name: answer, value: "no"}, {name: size, value: "1_000"}]
  pipelineSpec:
    tasks: [{name: t, taskSpec: {steps: [{image: alpine, script: 'echo $(params.answer) $(params.size)'}]}}]
`,
  );
  const tsx = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;
  const script = new URL('../../scripts/migrate.ts', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, script, file]);
  const [pipeline] = parseAllDocuments(stdout, { version: '1.1' }).map((d) => ('toJS' in d ? d.toJS() : undefined));
  expect(pipeline.spec.params).toEqual([
    { name: 'answer', type: 'string', default: 'no' },
    { name: 'size', type: 'string', default: '1_000' },
  ]);
}, 60_000);
