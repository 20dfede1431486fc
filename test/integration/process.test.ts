import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { commandLine, LocalControlPlane } from '../../src/local/LocalControlPlane.js';
import { eventually, kubeconfigPath } from '../helpers/cluster.js';
import { userToken } from '../helpers/hostile.js';
import { freePort, writeKubeconfig } from '../helpers/net.js';

interface Gateway {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

const running: Gateway[] = [];
afterEach(() => {
  for (const g of running.splice(0)) g.child.kill('SIGKILL');
});

/** The real entry point, as `npm start` runs it, but from source. */
async function startProcess(args: string[], env: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/index.ts', '--port', String(port), '--host', '127.0.0.1', ...args],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const g = { child, port, output: () => output, exited };
  running.push(g);
  return g;
}

const status = (port: number, path: string) =>
  fetch(`http://127.0.0.1:${port}${path}`).then(
    (r) => r.status,
    () => 0,
  );

describe('the gateway process', () => {
  it('refuses a bad setting with one line naming it, and exit code 2', async () => {
    const g = await startProcess(['--auth', 'maybe', '--kubeconfig', kubeconfigPath()]);
    expect(await g.exited).toBe(2);
    expect(g.output().trim()).toBe(
      'tekton-resource-gateway: invalid --auth / AUTH_MODE "maybe": Invalid option: expected one of "token"|"anonymous"',
    );
  });

  it('refuses anonymous access to a named cluster with exit code 2', async () => {
    const g = await startProcess(['--kubeconfig', kubeconfigPath(), '--auth', 'anonymous']);
    expect(await g.exited).toBe(2);
    expect(g.output().trim()).toBe(
      "tekton-resource-gateway: --auth anonymous is only allowed in local mode (no --kubeconfig, KUBECONFIG or ServiceAccount): with a named cluster every caller would act with the gateway's rights; use --auth token",
    );
  });

  it('becomes ready after the cache syncs, and on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const g = await startProcess(['--kubeconfig', kubeconfigPath(), '--auth', 'token']);
    await eventually(async () => ((await status(g.port, '/readyz')) === 200 ? true : undefined), 30_000);
    expect(await status(g.port, '/healthz')).toBe(200);

    const client = createClient({
      url: `ws://127.0.0.1:${g.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${userToken('admin')}` },
    });
    let closeCode: number | undefined;
    let connected = false;
    client.on('connected', () => {
      connected = true;
    });
    client.on('closed', (event) => {
      closeCode = (event as { code: number }).code;
    });
    client.subscribe(
      { query: 'subscription { pipelineResourceEvents { type } }' },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    await eventually(() => (connected ? true : undefined));

    g.child.kill('SIGTERM');
    expect(await g.exited).toBe(0);
    await eventually(() => closeCode);
    expect(closeCode).toBe(1001);
    expect(g.output()).toContain('shutting down');
    await client.dispose();
  });

  it('stays up and not ready while Kubernetes is unreachable, retrying with backoff', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unreachable-'));
    const kubeconfig = writeKubeconfig(dir, { server: `https://127.0.0.1:${await freePort()}` }, 'x');
    const g = await startProcess(['--kubeconfig', kubeconfig, '--auth', 'token']);
    await eventually(async () => ((await status(g.port, '/healthz')) === 200 ? true : undefined), 30_000);
    await eventually(() => ((g.output().match(/list\/watch failed; retrying/g) ?? []).length >= 3 ? true : undefined), 20_000);
    expect(await status(g.port, '/readyz')).toBe(503);
    expect(g.child.exitCode).toBeNull();
    expect(g.output()).toContain('ECONNREFUSED');
    g.child.kill('SIGTERM');
    expect(await g.exited).toBe(0);
  });
});

describe('local mode after a crash', () => {
  it('takes its control plane down with it when SIGKILLed, and clears a leftover from an earlier run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-crash-'));
    const pidFile = join(dir, 'kube-testserver.pid');
    const binary = LocalControlPlane.ensureBinary();
    const env = { KUBE_TESTSERVER_BIN: binary };
    const args = ['--local-dir', dir, '--seed', 'false'];
    const ready = (g: Gateway) => async () => ((await status(g.port, '/readyz')) === 200 ? true : undefined);
    try {
      // An earlier run's server that outlived it (stdin not a pipe: as a server from before this fix, or one started by hand).
      const leftover = spawn(binary, ['--data-dir', dir], { stdio: 'ignore' });
      writeFileSync(pidFile, `${leftover.pid}\n`);
      await eventually(() => (existsSync(join(dir, 'ready')) ? true : undefined), 240_000);

      const first = await startProcess(args, env);
      await eventually(ready(first), 240_000);
      expect(first.output()).toContain(
        `stopping a leftover kube-testserver (pid ${leftover.pid}) from an earlier run that still holds ${dir}`,
      );
      expect(leftover.exitCode ?? leftover.signalCode).not.toBeNull();
      const child = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
      expect(child).not.toBe(leftover.pid);
      expect(commandLine(child)).toContain(`kube-testserver --data-dir ${dir}`);
      expect(readFileSync(pidFile, 'utf8')).toBe(`${child}\n${first.child.pid}\n`);

      // A second gateway on the same folder must not take the running one's control plane away.
      const concurrent = await startProcess(args, env);
      expect(await concurrent.exited).toBe(1);
      expect(concurrent.output()).toContain(
        `tekton-resource-gateway: ${dir} is in use by another running gateway (pid ${first.child.pid}, its kube-testserver pid ${child}): stop it, or pass another --local-dir`,
      );
      expect(commandLine(child)).toContain('kube-testserver');
      expect(await status(first.port, '/readyz')).toBe(200);

      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();
      // The child sees its stdin close and shuts down like on SIGTERM.
      await eventually(() => (commandLine(child) === undefined ? true : undefined), 60_000);
      expect(readFileSync(join(dir, 'apiserver.log'), 'utf8')).toContain(
        'kube-testserver: stdin closed (the process that started it is gone): shutting down',
      );

      const second = await startProcess(args, env);
      await eventually(ready(second), 240_000);
      expect(second.output()).toContain(
        `removed a stale ${pidFile} (pid ${child} is not a kube-testserver for this folder; left from an earlier run)`,
      );
      const next = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(commandLine(next)).toBeUndefined();
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      for (const pid of existsSync(pidFile) ? [Number.parseInt(readFileSync(pidFile, 'utf8'), 10)] : []) {
        if (commandLine(pid)) process.kill(pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);

  it('replaces a port kept in state.json that another program took since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-ports-'));
    const logged: string[] = [];
    const plane = () => new LocalControlPlane({ dataDir: dir, log: (line) => logged.push(line) });
    const ports = () => {
      const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
      return [st.apiServerPort, st.etcdPort, st.etcdPeerPort] as number[];
    };
    const held: Server[] = [];
    try {
      const first = plane();
      await first.start();
      const before = ports();
      await first.stop();
      for (const port of before) {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        held.push(server);
      }
      const second = plane();
      await second.start();
      const after = ports();
      await second.stop();
      expect(after.filter((p) => before.includes(p))).toEqual([]);
      const log = readFileSync(join(dir, 'apiserver.log'), 'utf8');
      for (const port of before) {
        expect(log).toContain(
          `kube-testserver: port ${port} from ${join(dir, 'state.json')} is in use by another process; choosing a new one`,
        );
      }
      expect(JSON.parse(readFileSync(join(dir, 'kubeconfig'), 'utf8')).clusters[0].cluster.server).toBe(
        `https://127.0.0.1:${after[0]}`,
      );
      expect(logged).toEqual([]); // both stopped cleanly: no pid file left to clear
    } finally {
      for (const server of held) server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
