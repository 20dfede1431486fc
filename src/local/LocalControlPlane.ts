import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureGoBinary, projectRoot } from './goBinary.js';

/** The Kubernetes version of tools/kube-testserver; keep in step with its go.mod and README. */
export const kubernetesVersion = 'v1.37.2';

export interface LocalControlPlaneOptions {
  /** Folder for etcd data, certificates and kubeconfigs; reused across restarts. */
  dataDir: string;
  /** Where kube-apiserver's own log goes; defaults to `<dataDir>/apiserver.log`. */
  logFile?: string;
  startTimeoutMs?: number;
  /** Told what was cleared from an earlier run (a stale pid file, a leftover server). */
  log?: (line: string) => void;
}

/**
 * A real kube-apiserver and etcd (tools/kube-testserver) as a child process.
 * The binary is built on first use into `.tools/`, or taken from KUBE_TESTSERVER_BIN.
 */
export class LocalControlPlane {
  readonly dataDir: string;
  private readonly logFile: string;
  private readonly startTimeoutMs: number;
  private readonly log: (line: string) => void;
  private child: ChildProcess | undefined;
  private readonly stopFirst: (() => Promise<void>)[] = [];
  private exited: Promise<number | null> | undefined;

  constructor(options: LocalControlPlaneOptions) {
    this.dataDir = resolve(options.dataDir);
    this.logFile = options.logFile ?? join(this.dataDir, 'apiserver.log');
    this.startTimeoutMs = options.startTimeoutMs ?? 180_000;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** The running server's pid and its owner's (this process), written at spawn and removed at stop; a crash leaves it. */
  get pidFile(): string {
    return join(this.dataDir, 'kube-testserver.pid');
  }

  get kubeconfig(): string {
    return join(this.dataDir, 'kubeconfig');
  }

  userKubeconfig(name: 'admin' | 'alice' | 'bob' | 'mallory'): string {
    return join(this.dataDir, 'users', `${name}.kubeconfig`);
  }

  /** Builds the binary when it is missing or older than its sources; returns its path. */
  static ensureBinary(log: (line: string) => void = () => {}): string {
    const ldflags = [
      `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
      `-X k8s.io/component-base/version.gitMajor=${kubernetesVersion.split('.')[0]?.slice(1)}`,
      `-X k8s.io/component-base/version.gitMinor=${kubernetesVersion.split('.')[1]}`,
    ].join(' ');
    return ensureGoBinary(
      {
        sourceDir: join(projectRoot, 'tools', 'kube-testserver'),
        binary: join(projectRoot, '.tools', 'kube-testserver'),
        override: 'KUBE_TESTSERVER_BIN',
        ldflags,
        describe: `kube-apiserver ${kubernetesVersion}`,
      },
      log,
    );
  }

  async start(): Promise<void> {
    const binary = LocalControlPlane.ensureBinary(this.log);
    mkdirSync(this.dataDir, { recursive: true });
    await this.clearLeftover();
    const ready = join(this.dataDir, 'ready');
    // A killed server leaves its marker behind; only the new one's counts.
    rmSync(ready, { force: true });
    const out = openSync(this.logFile, 'a');
    // stdin is a pipe this process holds and never writes: when it dies, however, the kernel closes
    // it and the server shuts down (docs/decisions/007-control-plane-dies-with-its-parent.md).
    const child = spawn(binary, ['--data-dir', this.dataDir], { stdio: ['pipe', out, out] });
    this.child = child;
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid}\n${process.pid}\n`);
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
    const deadline = Date.now() + this.startTimeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => {
      exitCode = code;
    });
    while (!existsSync(ready)) {
      if (exitCode !== undefined)
        throw new Error(`kube-testserver exited (${exitCode}) before it was ready; see ${this.logFile}: ${tail(this.logFile)}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`kube-testserver not ready after ${this.startTimeoutMs} ms; see ${this.logFile}`);
      }
      await delay(100);
    }
  }

  /** Runs `stop` before the server stops: what runs against the cluster (Tekton, the simulated node). */
  beforeStop(stop: () => Promise<void>): void {
    this.stopFirst.push(stop);
  }

  /** Stops what was registered with beforeStop, then SIGTERM, then SIGKILL if it has not exited within 20 s. */
  async stop(): Promise<void> {
    for (const stop of this.stopFirst.splice(0)) await stop();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(killed);
    child.stdin?.destroy();
    rmSync(this.pidFile, { force: true });
    this.child = undefined;
  }

  /**
   * A crashed run may leave its pid file, or its server still holding the
   * folder's etcd lock and ports (a server from before servers died with
   * their parent, or one started by hand): the new server would hang or fail.
   * A pid file of a process that is gone is removed; a live kube-testserver
   * serving this folder is stopped (SIGTERM, then SIGKILL after 20 s). Either
   * is logged. A pid that is now another program's is left alone. A server
   * whose owner is still its parent belongs to another running gateway: that
   * is an error, not a leftover.
   */
  async clearLeftover(): Promise<void> {
    let pid: number;
    let owner: number;
    try {
      [pid = Number.NaN, owner = Number.NaN] = readFileSync(this.pidFile, 'utf8')
        .split('\n')
        .map((l) => Number.parseInt(l, 10));
    } catch {
      return; // no pid file: nothing left behind, or a clean stop
    }
    const command = Number.isInteger(pid) && pid > 0 ? commandLine(pid) : undefined;
    if (!command?.includes('kube-testserver') || !command.includes(this.dataDir)) {
      this.log(`removed a stale ${this.pidFile} (pid ${pid} is not a kube-testserver for this folder; left from an earlier run)`);
      rmSync(this.pidFile, { force: true });
      return;
    }
    if (Number.isInteger(owner) && parentPid(pid) === owner) {
      throw new Error(
        `${this.dataDir} is in use by another running gateway (pid ${owner}, its kube-testserver pid ${pid}): stop it, or pass another --local-dir`,
      );
    }
    this.log(`stopping a leftover kube-testserver (pid ${pid}) from an earlier run that still holds ${this.dataDir}`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (commandLine(pid) !== undefined) {
      if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
      await delay(100);
    }
    rmSync(this.pidFile, { force: true });
    this.log(`leftover kube-testserver (pid ${pid}) stopped`);
  }
}

/** A process's parent pid, or undefined when it is gone. */
function parentPid(pid: number): number | undefined {
  try {
    if (existsSync('/proc')) {
      // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last `)`.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
    }
    return Number.parseInt(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim(), 10);
  } catch {
    return undefined;
  }
}

/** A live process's command line, or undefined when it is gone (a zombie counts as gone). */
export function commandLine(pid: number): string | undefined {
  if (existsSync('/proc')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/s.test(stat)) return undefined;
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return undefined;
    }
  }
  try {
    // macOS and other systems without /proc.
    return (
      execFileSync('ps', ['-o', 'stat=,command=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .replace(/^Z\S*\s.*$/s, '')
        .replace(/^\S+\s+/, '') || undefined
    );
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '';
  }
}
