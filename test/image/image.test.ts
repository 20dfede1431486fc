import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createNamespace, eventually, kubeconfigPath } from '../helpers/cluster.js';
import { userToken } from '../helpers/hostile.js';
import { freePort } from '../helpers/net.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/**
 * The image `make image` built (GATEWAY_IMAGE), run by podman as the base Deployment
 * runs it in a pod: its env, user 1000, read-only root filesystem, no capabilities, no
 * privilege escalation, a tmpfs at /tmp; host network, against the local control plane
 * through a mounted kubeconfig. Also what the image holds, and the SBOM beside it.
 */

const projectRoot = process.cwd();
const image = process.env.GATEWAY_IMAGE ?? 'localhost/tekton-resource-gateway:latest';
const sbomPath = join(projectRoot, 'image-sbom.spdx.json');

interface EnvVar {
  name: string;
  value: string;
}
const deployment = parse(readFileSync(join(projectRoot, 'deploy/base/deployment.yaml'), 'utf8'));
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
/** What is left of the pod's grace period once the kubelet has run the preStop sleep: SIGTERM to SIGKILL. */
const graceAfterPreStopMs = (podSpec.terminationGracePeriodSeconds - container.lifecycle.preStop.sleep.seconds) * 1000;

/** What this machine lets podman set (root without CAP_SYS_RESOURCE here: never above the hard limits). */
const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
const runtimeFlags = ['--runtime', 'runc', '--ulimit', `nofile=${hardNofile}:${hardNofile}`, '--ulimit', 'nproc=4096:4096'];

/** The pod's securityContexts and volumes as podman flags; the first test checks that the manifest still says so. */
const podFlags = [
  '--user',
  `${podSpec.securityContext.runAsUser}:${podSpec.securityContext.runAsGroup}`,
  '--read-only',
  '--read-only-tmpfs=false',
  '--tmpfs',
  '/tmp:rw,size=64m,mode=1777',
  '--cap-drop',
  'all',
  '--security-opt',
  'no-new-privileges',
];

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a shell script in a throw-away container of the image, read-only, without network: as
 * the pod's user, or as root with podman's default capabilities to read every file of the image.
 */
function inImage(
  script: string,
  { env = [], asRoot = false }: { env?: string[]; asRoot?: boolean } = {},
): { status: number | null; stdout: string; stderr: string } {
  return podman([
    'run',
    '--rm',
    ...runtimeFlags,
    ...(asRoot ? ['--user', '0:0', '--read-only'] : podFlags),
    '--network',
    'none',
    ...env.flatMap((e) => ['--env', e]),
    '--entrypoint',
    'sh',
    image,
    '-c',
    script,
  ]);
}

const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean }>;
};
const lockEntries = Object.entries(lock.packages).filter(([path]) => path !== '');
const productionPaths = lockEntries.filter(([, p]) => !p.dev).map(([path]) => path);
const devPaths = lockEntries.filter(([, p]) => p.dev).map(([path]) => path);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('the image', () => {
  it('is configured as the Deployment expects: user 1000, node dist/index.js, production mode', () => {
    expect(podSpec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(podSpec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);

    const [config] = JSON.parse(podman(['image', 'inspect', image]).stdout) as {
      Config: { User: string; Entrypoint: string[]; Cmd?: string[]; WorkingDir: string; Env: string[]; ExposedPorts: object };
    }[];
    expect(config?.Config.User).toBe('1000:1000');
    expect(config?.Config.Entrypoint).toEqual(['node', 'dist/index.js']);
    expect(config?.Config.Cmd ?? null).toBeNull();
    expect(config?.Config.WorkingDir).toBe('/app');
    expect(config?.Config.Env).toContain('NODE_ENV=production');
    expect(config?.Config.ExposedPorts).toEqual({ '4000/tcp': {} });
  });

  it('holds dist/ compiled from src/, production dependencies from the lockfile, and nothing else of the project', () => {
    const r = inImage(
      [
        'ls -A /app',
        'echo ---',
        'cd /app/dist && find . -type f | sed "s|^\\./||" | sort',
        'echo ---',
        `node -e 'console.log(Object.keys(require("/app/node_modules/.package-lock.json").packages).sort().join("\\n"))'`,
        'echo ---',
        `cd /app && for p in ${devPaths.join(' ')}; do [ -e "$p" ] && echo "$p"; done; true`,
      ].join('; '),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [top, dist, installed, devPresent] = r.stdout.split('---\n').map((s) => s.split('\n').filter(Boolean));
    expect(top).toEqual(['dist', 'node_modules', 'package.json']);
    const compiled = filesUnder(join(projectRoot, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => f.replace(/\.ts$/, '.js'))
      .sort();
    expect(dist).toEqual(compiled);
    expect(installed).toEqual([...productionPaths].sort());
    expect(devPresent).toEqual([]);
  });

  it('holds no test fixtures, no .local/.tools/test data, no source maps with absolute paths, no path of the build machine', () => {
    const fixtureNames = [...new Set(filesUnder(join(projectRoot, 'test/fixtures')).map((f) => f.split('/').pop()))];
    const r = inImage(
      [
        // -xdev: the image's own files, not /proc, /sys or the tmpfs.
        'find / -xdev \\( -name .local -o -name .tools -o -name ".test-data-*" -o -name .git \\) -print',
        'echo ---',
        // The project's own tests (its dependencies ship theirs, which are theirs to prune).
        'find /app -path /app/node_modules -prune -o \\( -name "*.test.*" -o -name test -o -name bench \\) -print',
        'echo ---',
        `find / -xdev \\( ${fixtureNames.map((n) => `-name '${n}'`).join(' -o ')} \\) -print`,
        'echo ---',
        // A source map whose sources or sourceRoot name an absolute path leaks the machine that built it.
        `node -e '
          const fs = require("fs"), path = require("path");
          const bad = [];
          const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".map")) {
              const m = JSON.parse(fs.readFileSync(p, "utf8"));
              if ([m.sourceRoot ?? "", ...(m.sources ?? [])].some((s) => /^(\\/|file:|[A-Za-z]:[\\\\/])/.test(s))) bad.push(p);
            } } };
          walk("/app"); walk("/usr/local/lib/node_modules");
          console.log(bad.join("\\n"));'`,
        'echo ---',
        `grep -rlF -- '${projectRoot}' /app; true`,
      ].join('; '),
      { asRoot: true },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [tools, tests, fixtures, absoluteMaps, buildPaths] = r.stdout.split('---\n').map((s) => s.split('\n').filter(Boolean));
    expect(tools).toEqual([]);
    expect(tests).toEqual([]);
    expect(fixtures).toEqual([]);
    expect(absoluteMaps).toEqual([]);
    expect(buildPaths).toEqual([]);
  });

  it('passes `npm ls --omit=dev` inside: every production dependency installed, none extraneous or invalid', () => {
    // npm writes its cache and logs; the root filesystem is read-only, /tmp is not.
    const r = inImage('cd /app && npm ls --omit=dev --all --parseable | wc -l', { env: ['npm_config_cache=/tmp/npm'] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Every installed package, plus the project itself.
    expect(Number(r.stdout.trim())).toBe(productionPaths.length + 1);
  });
});

describe('the image run as in a pod', () => {
  const name = `gateway-image-test-${process.pid}`;
  let dir: string;
  let namespace: { name: string; remove: () => Promise<void> };
  let port: number;
  let coldStartMs: number;

  beforeAll(async () => {
    namespace = await createNamespace('image');
    // Before the gateway starts, so that its first LIST brings it into the cache.
    await createObjects(namespace.name, [gitResource('api-repo', 'https://github.com/example/api.git')]);

    // The container's user 1000 must read the kubeconfig: a copy of the admin's, mode 0444.
    dir = mkdtempSync(join(tmpdir(), 'image-test-'));
    const kubeconfig = join(dir, 'kubeconfig');
    copyFileSync(kubeconfigPath('admin'), kubeconfig);
    chmodSync(kubeconfig, 0o444);
    port = await freePort();
    const metricsPort = await freePort();
    const env = Object.fromEntries((container.env as EnvVar[]).map((e) => [e.name, e.value]));
    Object.assign(env, {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      // Host network: loopback only, as every test here.
      HOST: '127.0.0.1',
      KUBECONFIG: '/var/run/gateway/kubeconfig',
    });
    const created = podman([
      'create',
      '--name',
      name,
      ...runtimeFlags,
      ...podFlags,
      '--network',
      'host',
      '--volume',
      `${kubeconfig}:/var/run/gateway/kubeconfig:ro`,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      image,
    ]);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);

    const started = performance.now();
    expect(podman(['start', name]).status).toBe(0);
    await eventually(
      async () =>
        (await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200
          ? true
          : undefined,
      60_000,
    );
    coldStartMs = Math.round(performance.now() - started);
    process.stdout.write(`image-test: ${image} ready ${coldStartMs} ms after podman start\n`);
  });

  afterAll(async () => {
    podman(['rm', '--force', '--time', '0', name]);
    await namespace?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs as uid 1000 with no capabilities, no privilege escalation, and a read-only root but a writable /tmp', () => {
    const status = podman(['exec', name, 'cat', '/proc/1/status']).stdout;
    const field = (key: string) =>
      status
        .match(new RegExp(`^${key}:\\s*(.*)$`, 'm'))?.[1]
        ?.trim()
        .split(/\s+/);
    expect(field('Uid')).toEqual(['1000', '1000', '1000', '1000']);
    expect(field('Gid')).toEqual(['1000', '1000', '1000', '1000']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(set)).toEqual(['0000000000000000']);
    expect(field('NoNewPrivs')).toEqual(['1']);
    expect(podman(['exec', name, 'cat', '/proc/1/cmdline']).stdout.split('\0')).toEqual(['node', 'dist/index.js', '']);

    const root = podman(['exec', name, 'touch', '/app/written']);
    expect(root.status).toBe(1);
    expect(root.stderr).toContain('Read-only file system');
    const tmp = podman(['exec', name, 'touch', '/tmp/written']);
    expect(tmp.status).toBe(0);
  });

  it('answers a query with a user token from its cache, and 401 without one', async () => {
    const query = `{ pipelineResources(namespace: "${namespace.name}") { totalCount edges { node { name type } } } }`;
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query }),
      });
    const answer = await post({ authorization: `Bearer ${userToken('admin')}` });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      data: { pipelineResources: { totalCount: 1, edges: [{ node: { name: 'api-repo', type: 'git' } }] } },
    });
    const anonymous = await post({});
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({
      errors: [{ message: 'Unauthorized: send a valid Kubernetes bearer token.', extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  it('exits 0 on SIGTERM within what the grace period leaves after preStop, having said it shuts down', () => {
    const started = performance.now();
    expect(podman(['kill', '--signal', 'TERM', name]).status).toBe(0);
    const waited = podman(['wait', name]);
    const elapsedMs = performance.now() - started;
    expect(waited.stdout.trim()).toBe('0');
    expect(elapsedMs).toBeLessThan(graceAfterPreStopMs);
    const [state] = JSON.parse(podman(['inspect', name]).stdout) as { State: { ExitCode: number; OOMKilled: boolean } }[];
    expect(state?.State.ExitCode).toBe(0);
    expect(state?.State.OOMKilled).toBe(false);
    const logs = podman(['logs', name]);
    expect(`${logs.stdout}${logs.stderr}`).toContain('shutting down');
    process.stdout.write(`image-test: exited 0 ${Math.round(elapsedMs)} ms after SIGTERM\n`);
  });
});

describe('the SBOM', () => {
  it('lists every production npm package of the image at its installed version and no dev one, Node itself and the Debian packages', () => {
    const sbom = JSON.parse(readFileSync(sbomPath, 'utf8')) as {
      spdxVersion: string;
      name: string;
      creationInfo: { creators: string[] };
      packages: { name: string; versionInfo?: string; sourceInfo?: string; externalRefs?: { referenceLocator: string }[] }[];
    };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.name).toBe(image);
    expect(sbom.creationInfo.creators).toContain('Tool: syft-1.57.1');
    const purlOf = (p: (typeof sbom.packages)[number]) =>
      p.externalRefs?.map((r) => r.referenceLocator).find((l) => l.startsWith('pkg:'));
    // Each npm package syft found under /app, by its folder relative to /app.
    const listed = new Map(
      sbom.packages.flatMap((p) => {
        const manifest = p.sourceInfo?.match(/ \/app\/(node_modules\/.+)\/package\.json$/)?.[1];
        return manifest ? [[manifest, `${p.name}@${p.versionInfo}`] as const] : [];
      }),
    );
    const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const production = lockEntries.filter(([, p]) => !p.dev);
    expect(production.filter(([path, p]) => listed.get(path) !== `${nameOf(path)}@${p.version}`)).toEqual([]);
    expect(devPaths.filter((path) => listed.has(path))).toEqual([]);
    // Besides the packages: only manifests nested inside one of them (a package's own benchmark or test folder).
    const lockPaths = new Set(lockEntries.map(([path]) => path));
    expect(
      [...listed.keys()].filter((path) => !lockPaths.has(path) && !production.some(([p]) => path.startsWith(`${p}/`))),
    ).toEqual([]);
    const node = sbom.packages.find((p) => purlOf(p)?.startsWith('pkg:generic/node@'));
    const nodeVersion = podman(['run', '--rm', ...runtimeFlags, '--entrypoint', 'node', image, '-p', 'process.versions.node']);
    expect(node?.versionInfo).toBe(nodeVersion.stdout.trim());
    expect(sbom.packages.find((p) => p.name === 'libc6')?.versionInfo).toMatch(/^2\.36-/);
  });
});
