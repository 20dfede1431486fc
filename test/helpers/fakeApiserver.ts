import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { KubeClient } from '../../src/kube/KubeClient.js';

/** One request the fake apiserver saw. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
  body: unknown;
}

/** What the fake answers a request with: a status and a JSON body. */
export type Answer = { status: number; body: unknown };

/**
 * A Kubernetes apiserver faked at the HTTP layer, for unit tests of code that
 * reads and writes through a real `KubeClient`: objects are served by path
 * (GET), lists are built from the objects under a path, a POST answers with
 * the body it got (or what `onWrite` says), anything else is a 404 Status.
 */
export class FakeApiserver implements AsyncDisposable {
  readonly objects = new Map<string, unknown>();
  readonly seen: SeenRequest[] = [];
  /** Failures served instead of the object at a path, e.g. a 403 on a Secret. */
  readonly failures = new Map<string, number>();
  onWrite: (req: SeenRequest) => Answer = (req) => ({ status: 201, body: req.body });
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        accept: req.headers.accept,
        body: text ? JSON.parse(text) : undefined,
      };
      this.seen.push(seen);
      const answer = seen.method === 'GET' ? this.read(seen.path) : this.onWrite(seen);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });

  private read(path: string): Answer {
    const failure = this.failures.get(path);
    if (failure) return { status: failure, body: { kind: 'Status', code: failure, message: `HTTP ${failure}` } };
    const found = this.objects.get(path);
    if (found !== undefined) return { status: 200, body: found };
    const under = [...this.objects].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'));
    if (under.length || /\/(resourcebindings|pipelineruns)$/.test(path)) {
      return { status: 200, body: { kind: 'List', metadata: { resourceVersion: '1' }, items: under.map(([, o]) => o) } };
    }
    return { status: 404, body: { kind: 'Status', reason: 'NotFound', message: `${path} not found`, code: 404 } };
  }

  /** Serves `object` at `path`. */
  put(path: string, object: unknown): this {
    this.objects.set(path, object);
    return this;
  }

  async client(): Promise<KubeClient> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'fake',
          server: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return new KubeClient({ kubeConfig: kc, logger: pino({ level: 'silent' }) });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
