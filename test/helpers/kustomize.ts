import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/kinds.js';

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

/** Where each kind the manifests in deploy/ use lives in the API: plural and scope. */
const resources: Record<string, { plural: string; namespaced: boolean }> = {
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  Namespace: { plural: 'namespaces', namespaced: false },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  NetworkPolicy: { plural: 'networkpolicies', namespaced: true },
  HorizontalPodAutoscaler: { plural: 'horizontalpodautoscalers', namespaced: true },
};

/** The object's REST path from its apiVersion and kind, e.g. `/apis/apps/v1/namespaces/x/deployments/y`. */
export function restPath(obj: KubeObject): string {
  const r = obj.kind ? resources[obj.kind] : undefined;
  if (!r || !obj.apiVersion)
    throw new Error(`no REST path known for ${obj.apiVersion} ${obj.kind}: add it to test/helpers/kustomize.ts`);
  if (r.namespaced && !obj.metadata.namespace) throw new Error(`${obj.kind}/${obj.metadata.name} has no namespace`);
  const group = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${group}${ns}/${r.plural}/${obj.metadata.name}`;
}
