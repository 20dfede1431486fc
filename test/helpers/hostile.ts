import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { kubeconfigPath, type TestUser } from './cluster.js';
import type { TestGateway } from './gateway.js';

/** A test user's bearer token, from their kubeconfig. */
export function userToken(user: TestUser): string {
  return JSON.parse(readFileSync(kubeconfigPath(user), 'utf8')).users[0].user.token;
}

/**
 * The bounds a bystander is held to while another tenant attacks (docs/security.md,
 * "Hostile tenants"): bob's simple query answers, each within `maxMs`, and the
 * process (the gateway runs inside the test worker) stays under `rssMiB`.
 */
export const bystanderBounds = { maxMs: 2_000, rssMiB: 1_536 } as const;

/** bob's simple query: he may view team-b. */
export const bystanderQuery = '{ pipelineResources(namespace: "team-b", first: 1) { totalCount } }';

export interface BystanderReport {
  /** Queries bob completed while the attack ran. */
  samples: number;
  /** Answers that were not a 200 with data and no errors. */
  failures: number;
  maxMs: number;
  peakRssMiB: number;
}

/**
 * Runs `attack` while bob keeps sending his simple query and the process's RSS
 * is sampled; returns the attack's result and what bob saw. bob sends at least
 * one query after the attack started, however quick it is.
 */
export async function whileAttacking<T>(
  gw: TestGateway,
  attack: () => Promise<T>,
): Promise<{ result: T; bystander: BystanderReport }> {
  const token = userToken('bob');
  const report: BystanderReport = { samples: 0, failures: 0, maxMs: 0, peakRssMiB: 0 };
  const sampleRss = () => {
    report.peakRssMiB = Math.max(report.peakRssMiB, Math.round(process.memoryUsage.rss() / 2 ** 20));
  };
  const rss = setInterval(sampleRss, 20);
  let done = false;
  const bob = (async () => {
    do {
      const started = performance.now();
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: bystanderQuery }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
      report.maxMs = Math.max(report.maxMs, performance.now() - started);
      report.samples++;
      if (res.status !== 200 || !body.data || body.errors) report.failures++;
      // Under the default per-user rate (50 a second), however long the attack lasts: bob measures harm, not his own rate.
      await new Promise((r) => setTimeout(r, 25));
    } while (!done);
  })();
  try {
    const result = await attack();
    return { result, bystander: report };
  } finally {
    done = true;
    await bob;
    clearInterval(rss);
    sampleRss();
  }
}

/** bob was answered every time, within the bound, and memory stayed under its bound. */
export function expectBystanderUnharmed(report: BystanderReport): void {
  expect(report.failures).toBe(0);
  expect(report.samples).toBeGreaterThan(0);
  expect(report.maxMs).toBeLessThan(bystanderBounds.maxMs);
  expect(report.peakRssMiB).toBeLessThan(bystanderBounds.rssMiB);
}
