import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The Kubernetes version of tools/kube-testserver; keep in step with its go.mod and README. */
export const kubernetesVersion = 'v1.37.2';

const projectRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const sourceDir = join(projectRoot, 'tools', 'kube-testserver');
const defaultBinary = join(projectRoot, '.tools', 'kube-testserver');

export interface LocalControlPlaneOptions {
  /** Folder for etcd data, certificates and kubeconfigs; reused across restarts. */
  dataDir: string;
  /** Where kube-apiserver's own log goes; defaults to `<dataDir>/apiserver.log`. */
  logFile?: string;
  startTimeoutMs?: number;
}

/**
 * A real kube-apiserver and etcd (tools/kube-testserver) as a child process.
 * The binary is built on first use into `.tools/`, or taken from KUBE_TESTSERVER_BIN.
 */
export class LocalControlPlane {
  readonly dataDir: string;
  private readonly logFile: string;
  private readonly startTimeoutMs: number;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(options: LocalControlPlaneOptions) {
    this.dataDir = resolve(options.dataDir);
    this.logFile = options.logFile ?? join(this.dataDir, 'apiserver.log');
    this.startTimeoutMs = options.startTimeoutMs ?? 180_000;
  }

  get kubeconfig(): string {
    return join(this.dataDir, 'kubeconfig');
  }

  userKubeconfig(name: 'admin' | 'alice' | 'bob' | 'mallory'): string {
    return join(this.dataDir, 'users', `${name}.kubeconfig`);
  }

  /** Builds the binary when it is missing or older than its sources; returns its path. */
  static ensureBinary(log: (line: string) => void = () => {}): string {
    const override = process.env.KUBE_TESTSERVER_BIN;
    if (override) {
      if (!existsSync(override)) throw new Error(`KUBE_TESTSERVER_BIN=${override} does not exist`);
      return override;
    }
    const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum');
    const newest = Math.max(...sources.map((f) => statSync(join(sourceDir, f)).mtimeMs));
    if (existsSync(defaultBinary) && statSync(defaultBinary).mtimeMs >= newest) return defaultBinary;
    log(`building kube-apiserver ${kubernetesVersion} into .tools/ (first run: several minutes)`);
    const ldflags = [
      `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
      `-X k8s.io/component-base/version.gitMajor=${kubernetesVersion.split('.')[0]?.slice(1)}`,
      `-X k8s.io/component-base/version.gitMinor=${kubernetesVersion.split('.')[1]}`,
    ].join(' ');
    try {
      execFileSync('go', ['build', '-ldflags', ldflags, '-o', defaultBinary, '.'], {
        cwd: sourceDir,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          'the local control plane is built with Go ≥ 1.26, which is not on PATH; or name a cluster with --kubeconfig',
        );
      }
      throw err;
    }
    return defaultBinary;
  }

  async start(): Promise<void> {
    const binary = LocalControlPlane.ensureBinary((l) => process.stderr.write(`${l}\n`));
    mkdirSync(this.dataDir, { recursive: true });
    const ready = join(this.dataDir, 'ready');
    // A killed server leaves its marker behind; only the new one's counts.
    rmSync(ready, { force: true });
    const out = openSync(this.logFile, 'a');
    const child = spawn(binary, ['--data-dir', this.dataDir], { stdio: ['ignore', out, out] });
    this.child = child;
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

  /** SIGTERM, then SIGKILL if it has not exited within 20 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(killed);
    this.child = undefined;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '';
  }
}
