import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface GoBinary {
  /** The Go module folder under tools/ that builds it. */
  sourceDir: string;
  /** Where it is built: `.tools/<name>`. */
  binary: string;
  /** An environment variable naming a binary to use instead (a prebuilt or shared one). */
  override: string;
  ldflags?: string;
  /** What the first build costs, for the line logged before it. */
  describe: string;
}

/**
 * Builds a Go tool into `.tools/` when it is missing or older than its module's
 * sources (any .go file, go.mod or go.sum), and returns its path; the variable
 * named by `override` skips the build. Go's module and build caches make a
 * rebuild after a small change take seconds.
 */
export function ensureGoBinary(tool: GoBinary, log: (line: string) => void = () => {}): string {
  const override = process.env[tool.override];
  if (override) {
    if (!existsSync(override)) throw new Error(`${tool.override}=${override} does not exist`);
    return override;
  }
  const sources = readdirSync(tool.sourceDir).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum');
  const newest = Math.max(...sources.map((f) => statSync(join(tool.sourceDir, f)).mtimeMs));
  if (existsSync(tool.binary) && statSync(tool.binary).mtimeMs >= newest) return tool.binary;
  log(`building ${tool.describe} into .tools/ (first run: several minutes)`);
  try {
    execFileSync('go', ['build', ...(tool.ldflags ? ['-ldflags', tool.ldflags] : []), '-o', tool.binary, '.'], {
      cwd: tool.sourceDir,
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
  return tool.binary;
}
