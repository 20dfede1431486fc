import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { KubeClient } from '../../src/kube/KubeClient.js';

/**
 * A TokenReview endpoint for unit tests (the HTTP layer is the only thing faked): a token is user `u` while
 * `accepts(token)` says so. Counts the reviews it answered.
 */
export async function tokenReviewServer(
  accepts: (token: string) => boolean,
): Promise<{ server: Server; url: string; reviews: () => number }> {
  let reviews = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      reviews++;
      const { spec } = JSON.parse(body) as { spec: { token: string } };
      const ok = accepts(spec.token);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: ok ? { authenticated: true, user: { username: 'u', uid: '1', groups: [] } } : { authenticated: false },
          spec,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reviews: () => reviews };
}

/** A KubeClient for a plain-HTTP fake apiserver. */
export function kubeClientFor(url: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return new KubeClient({ kubeConfig: kc, logger: pino({ level: 'silent' }) });
}
