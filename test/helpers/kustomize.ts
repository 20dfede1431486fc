import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { builtinKinds, type KindPlace, type KubeObject, kinds, manifestPath } from '../../src/kube/kinds.js';

const projectRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const sourceDir = join(projectRoot, 'tools', 'kustomize');
const defaultBinary = join(projectRoot, '.tools', 'kustomize');

/**
 * kustomize, built from the Go module proxy (tools/kustomize/go.mod pins the version)
 * into `.tools/kustomize` when missing or older than its go.mod/go.sum; KUSTOMIZE_BIN
 * names an existing one instead. A cold build takes about 40 s on two cores.
 */
export function ensureKustomize(log: (line: string) => void = () => {}): string {
  const override = process.env.KUSTOMIZE_BIN;
  if (override) {
    if (!existsSync(override)) throw new Error(`KUSTOMIZE_BIN=${override} does not exist`);
    return override;
  }
  const sources = readdirSync(sourceDir).filter((f) => f === 'go.mod' || f === 'go.sum');
  const newest = Math.max(...sources.map((f) => statSync(join(sourceDir, f)).mtimeMs));
  if (existsSync(defaultBinary) && statSync(defaultBinary).mtimeMs >= newest) return defaultBinary;
  log('building kustomize into .tools/ (first run: under a minute)');
  mkdirSync(join(projectRoot, '.tools'), { recursive: true });
  // Built beside the target and renamed, so a concurrent or interrupted build never leaves half a binary.
  const partial = `${defaultBinary}.${process.pid}.partial`;
  try {
    execFileSync('go', ['build', '-o', partial, 'sigs.k8s.io/kustomize/kustomize/v5'], {
      cwd: sourceDir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kustomize is built with Go ≥ 1.26, which is not on PATH; or set KUSTOMIZE_BIN');
    }
    throw err;
  }
  renameSync(partial, defaultBinary);
  return defaultBinary;
}

/** `kustomize build <dir>` (relative to the project root, or absolute), parsed into objects in output order. */
export function kustomizeBuild(dir: string): KubeObject[] {
  const out = execFileSync(ensureKustomize(), ['build', resolve(projectRoot, dir)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(out)
    .map((doc) => doc.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

/** Kinds deploy/ uses beyond those src/kube/kinds.ts knows (the project's and Kubernetes' own it applies). */
const deployKinds: Record<string, KindPlace> = {
  Service: { plural: 'services', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  NetworkPolicy: { plural: 'networkpolicies', namespaced: true },
  HorizontalPodAutoscaler: { plural: 'horizontalpodautoscalers', namespaced: true },
};

/** The object's REST path from its apiVersion and kind, e.g. `/apis/apps/v1/namespaces/x/deployments/y`. */
export function restPath(obj: KubeObject): string {
  const namespaced = { ...deployKinds, ...kinds, ...builtinKinds }[obj.kind ?? '']?.namespaced;
  if (namespaced && !obj.metadata.namespace) throw new Error(`${obj.kind}/${obj.metadata.name} has no namespace`);
  return manifestPath(obj, undefined, deployKinds);
}
