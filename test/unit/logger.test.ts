import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** A process that logs one line with the default output, its stdout a pipe or (through `script`) a terminal. */
function logFromProcess(terminal: boolean): string {
  const program = `import('./src/logger.ts').then(({ createLogger }) => createLogger('info').info('gateway listening'))`;
  const command = [process.execPath, '--import', 'tsx', '-e', JSON.stringify(program)].join(' ');
  const run = terminal
    ? spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' })
    : spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stdout;
}

describe('createLogger', () => {
  it('writes one JSON object per line when told to', () => {
    const out = capture();
    createLogger('info', { pretty: false, destination: out.stream }).info(
      { url: 'http://127.0.0.1:4000/graphql' },
      'gateway listening',
    );
    expect(JSON.parse(out.text())).toMatchObject({
      level: 30,
      msg: 'gateway listening',
      url: 'http://127.0.0.1:4000/graphql',
      service: 'tekton-resource-gateway',
    });
  });

  it('writes human-readable lines when told to, credentials still redacted', () => {
    const out = capture();
    createLogger('info', { pretty: true, destination: out.stream }).info(
      { user: { token: 'secret-value' } },
      'gateway listening',
    );
    expect(out.text()).toMatch(
      /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: gateway listening\n {4}user: \{\n {6}"token": "\[Redacted\]"\n {4}\}\n$/,
    );
  });

  it('is JSON when standard output is a pipe and human-readable on a terminal', () => {
    expect(JSON.parse(logFromProcess(false))).toMatchObject({ level: 30, msg: 'gateway listening' });
    // On a terminal, coloured: strip the escapes to read it.
    const text = logFromProcess(true).replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '');
    expect(text).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: gateway listening\r?\n$/);
  }, 30_000);
});
