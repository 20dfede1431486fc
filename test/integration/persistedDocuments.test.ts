import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPersistedDocuments } from '../../src/persistedDocuments.js';
import { createNamespace, eventually } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/**
 * Trusted documents as docs/clients.md tells a frontend to use them: graphql-codegen's client preset writes
 * `persisted-documents.json` from the app's operations, the gateway runs with `--persisted-documents` that file, and
 * the app sends each operation's `documentId` (its `__meta__.hash`). Nothing else runs, over HTTP or WebSocket.
 */
const operations = `
import { graphql } from '../gql';
export const ResourceTypes = graphql(\`query ResourceTypes { resourceTypes { name } }\`);
export const ResourceEvents = graphql(\`
  subscription ResourceEvents($namespace: String!) { pipelineResourceEvents(namespace: $namespace) { type object { name } } }
\`);
`;

let dir: string;
let gw: TestGateway;
let open: TestGateway;
let ns: string;
let removeNamespace: () => Promise<void>;
/** The generated documents' ids, by operation name, as the generated code carries them. */
let ids: Record<'ResourceTypes' | 'ResourceEvents', string>;

beforeAll(async () => {
  mkdirSync('.test-artifacts', { recursive: true });
  dir = mkdtempSync(resolve('.test-artifacts', 'codegen-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'operations.ts'), operations);
  writeFileSync(
    join(dir, 'codegen.json'),
    JSON.stringify({
      schema: resolve('schema/schema.graphql'),
      documents: ['src/**/*.ts'],
      generates: { 'gql/': { preset: 'client', presetConfig: { persistedDocuments: { hashAlgorithm: 'sha256' } } } },
    }),
  );
  execFileSync(resolve('node_modules/.bin/graphql-codegen'), ['--config', 'codegen.json'], { cwd: dir, stdio: 'pipe' });
  const generated = readFileSync(join(dir, 'gql', 'graphql.ts'), 'utf8');
  const hashOf = (name: string) =>
    new RegExp(`export const ${name}Document = \\{"__meta__":\\{"hash":"([0-9a-f]{64})"`).exec(generated)?.[1] ?? '';
  ids = { ResourceTypes: hashOf('ResourceTypes'), ResourceEvents: hashOf('ResourceEvents') };

  ({ name: ns, remove: removeNamespace } = await createNamespace('trusted'));
  gw = await startGateway({ http: { persistedDocuments: loadPersistedDocuments(join(dir, 'gql', 'persisted-documents.json')) } });
  open = await startGateway();
}, 180_000);

afterAll(async () => {
  await gw?.stop();
  await open?.stop();
  await removeNamespace?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function post(body: Record<string, unknown>) {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('trusted documents (--persisted-documents)', () => {
  it('runs a generated document by its documentId, and by Apollo’s persistedQuery hash', async () => {
    expect(ids.ResourceTypes).toMatch(/^[0-9a-f]{64}$/);
    const expected = await open.gql('query ResourceTypes { resourceTypes { name } }');
    expect(expected.data.resourceTypes.length).toBeGreaterThan(1);
    expect(await post({ documentId: ids.ResourceTypes })).toEqual({ status: 200, body: expected });
    expect(await post({ extensions: { persistedQuery: { version: 1, sha256Hash: ids.ResourceTypes } } })).toEqual({
      status: 200,
      body: expected,
    });
  });

  it('refuses an arbitrary query, an unknown id and a request that names none', async () => {
    const refusal = (code: string, message: string) => ({ status: 400, body: { errors: [{ message, extensions: { code } }] } });
    expect(await post({ query: '{ resourceTypes { name } }' })).toEqual(
      refusal('CANNOT_SEND_PQ_ID_AND_BODY', 'Only trusted documents run here: send a documentId, not a query.'),
    );
    expect(await post({ documentId: 'f'.repeat(64) })).toEqual(
      refusal('PERSISTED_QUERY_NOT_IN_LIST', 'No trusted document has this id.'),
    );
    expect(await post({ variables: {} })).toEqual(
      refusal('PERSISTED_QUERY_ID_REQUIRED', 'Send the documentId of a trusted document.'),
    );
  });

  it('runs a trusted subscription over graphql-ws by documentId and refuses an arbitrary one', async () => {
    const client = gw.ws();
    // graphql-ws wants a `query` string: a trusted-documents client sends "" and the id beside it.
    const received: unknown[] = [];
    const dispose = client.subscribe(
      { query: '', variables: { namespace: ns }, extensions: { persistedQuery: { version: 1, sha256Hash: ids.ResourceEvents } } },
      { next: (v) => void received.push(v), error: (e) => void received.push({ failed: e }), complete: () => {} },
    );
    const arbitrary: unknown[] = [];
    client.subscribe(
      { query: `subscription { pipelineResourceEvents(namespace: "${ns}") { type } }` },
      { next: (v) => void arbitrary.push(v), error: (e) => void arbitrary.push(e), complete: () => {} },
    );
    // Each try writes a new resource until its event arrives (the server registers the subscription when it will).
    for (let i = 0; i < 20 && received.length === 0; i++) {
      await createObjects(ns, [gitResource(`trusted-${i}`)]);
      await eventually(() => (received.length ? true : undefined), 1_000).catch(() => undefined);
    }
    dispose();
    expect(received[0]).toEqual({
      data: { pipelineResourceEvents: { type: 'ADDED', object: { name: expect.stringMatching(/^trusted-\d+$/) } } },
    });
    expect(arbitrary).toEqual([
      [
        {
          message: 'Only trusted documents run here: send a documentId, not a query.',
          extensions: { code: 'CANNOT_SEND_PQ_ID_AND_BODY' },
        },
      ],
    ]);
  });
});
