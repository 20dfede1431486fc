import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { inject } from 'vitest';
import { KubeClient, type KubeClientOptions } from '../../src/kube/KubeClient.js';

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export type TestUser = 'admin' | 'alice' | 'bob' | 'mallory';

export function kubeconfigPath(user: TestUser = 'admin'): string {
  const dir = inject('clusterDir');
  return user === 'admin' ? join(dir, 'kubeconfig') : join(dir, 'users', `${user}.kubeconfig`);
}

export function kubeClient(user: TestUser = 'admin'): KubeClient {
  return clientFor(kubeconfigPath(user));
}

export function clientFor(kubeconfig: string, onResponse?: KubeClientOptions['onResponse']): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return new KubeClient({ kubeConfig: kc, logger: testLogger, onResponse });
}

/** A namespace of the test file's own, deleted afterwards (callers register the cleanup). */
export async function createNamespace(prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const admin = kubeClient();
  await admin.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  return { name, remove: async () => void (await admin.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => {})) };
}

/** Polls until `check` returns a value other than undefined. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
