import { randomBytes } from 'node:crypto';
import { kubeClient } from './cluster.js';

/**
 * Secret values written by tests. Every response the test helpers receive is
 * scanned for them (gateway.ts), so a leak anywhere fails the test that caused it.
 */
export const secretValues = new Set<string>();

/** Creates a Secret as the admin with a fresh random value per key, and remembers the values. */
export async function createSecret(namespace: string, name: string, keys: string[]): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  for (const k of keys) {
    const value = `s3cret-${randomBytes(12).toString('hex')}`;
    secretValues.add(value);
    secretValues.add(Buffer.from(value).toString('base64'));
    data[k] = value;
  }
  await kubeClient('admin').request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
  return data;
}

/** Throws when a response carries a Secret value. */
export function assertNoSecret(text: string): void {
  for (const v of secretValues) {
    if (text.includes(v)) throw new Error(`a response contains a Secret value (${v.slice(0, 10)}…)`);
  }
}
