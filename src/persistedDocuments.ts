import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';

/**
 * Trusted documents (`--persisted-documents FILE`): the only operations the gateway runs, by id. The file is the JSON
 * object `{ "<id>": "<document>" }` that graphql-codegen's client preset writes with `persistedDocuments: true`
 * (`persisted-documents.json`, ids are the documents' sha256 hashes); any tool that writes the same shape will do.
 */
export type PersistedDocuments = ReadonlyMap<string, string>;

export class PersistedDocumentsError extends Error {
  override readonly name = 'PersistedDocumentsError';
}

export function loadPersistedDocuments(path: string): PersistedDocuments {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PersistedDocumentsError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PersistedDocumentsError(`${path} must hold a JSON object of id to document`);
  }
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(parsed)) {
    if (typeof document !== 'string' || !document.trim()) {
      throw new PersistedDocumentsError(`${path}: the document of ${JSON.stringify(id)} is not a non-empty string`);
    }
    documents.set(id, document);
  }
  if (documents.size === 0) throw new PersistedDocumentsError(`${path} holds no documents`);
  return documents;
}

/**
 * The id a request names its document by: `documentId` (graphql-codegen's client preset, GraphQL over HTTP's
 * persisted documents) or Apollo's `extensions.persistedQuery.sha256Hash`.
 */
export function persistedDocumentId(params: { documentId?: unknown; extensions?: unknown }): string | null {
  if (typeof params.documentId === 'string') return params.documentId;
  const persisted = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | null | undefined)?.persistedQuery;
  return typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : null;
}

/** The errors of trusted-documents mode, with the codes yoga's persisted-operations plugin gives them. */
export const persistedDocumentErrors = {
  arbitrary: () =>
    new GraphQLError('Only trusted documents run here: send a documentId, not a query.', {
      extensions: { code: 'CANNOT_SEND_PQ_ID_AND_BODY', http: { status: 400 } },
    }),
  missingId: () =>
    new GraphQLError('Send the documentId of a trusted document.', {
      extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } },
    }),
  unknown: () =>
    new GraphQLError('No trusted document has this id.', {
      extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST', http: { status: 400 } },
    }),
};
