import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { UnavailableError, ValidationError } from '../errors.js';

/** Bounds on a YAML input (docs/security.md, Limits). */
export interface YamlLimits {
  /** Largest input, in UTF-8 bytes; checked before anything is parsed. */
  maxBytes: number;
  /** Deepest nesting of collections in any document. */
  maxDepth: number;
  /** Nodes that aliases may expand to (the `yaml` package's `maxAliasCount`): billion laughs. */
  maxAliases: number;
  /** Wall time the parse may take, off the event loop; past it the parse is stopped. */
  parseTimeoutMs: number;
}

export const defaultYamlLimits: YamlLimits = { maxBytes: 131_072, maxDepth: 32, maxAliases: 100, parseTimeoutMs: 2_000 };

/** One document of a stream: its value, or why it is not YAML. */
export type YamlDocument = { value: unknown } | { error: string };

/** Parses at a time (one per core of a small pod); more wait, up to `maxWaiting`, then get UnavailableError. */
const maxParsing = 2;
const maxWaiting = 16;

/**
 * The parse runs in a worker thread: the `yaml` package takes seconds on a few
 * hundred KB of nested flow collections, and a worker can be stopped (time) and
 * capped (heap) where the event loop cannot. CommonJS, as `eval` workers are.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { parseAllDocuments } = require(workerData.yamlPath);
const { text, maxDepth, maxAliases } = workerData;
parentPort.postMessage('ready');
const depthOver = (root) => {
  const stack = [[root, 1]];
  while (stack.length) {
    const [v, d] = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (d > maxDepth) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
};
const read = () => {
const documents = [];
const parsed = parseAllDocuments(text);
for (const [i, d] of (Array.isArray(parsed) ? parsed : []).entries()) {
  if (d.errors.length) {
    documents.push({ error: 'not YAML: ' + d.errors[0].message.split('\\n')[0] });
    continue;
  }
  let value;
  try {
    value = d.toJS({ maxAliasCount: maxAliases });
  } catch (err) {
    if (/alias count/i.test(String(err && err.message))) {
      return { limit: 'documents[' + i + ']: its aliases expand to more than ' + maxAliases + ' nodes' };
    }
    documents.push({ error: 'not YAML: ' + String(err && err.message).split('\\n')[0] });
    continue;
  }
  if (depthOver(value)) {
    return { limit: 'documents[' + i + ']: nested deeper than ' + maxDepth + ' levels' };
  }
  documents.push({ value });
}
return { documents };
};
parentPort.postMessage(read());
`;

const yamlPath = createRequire(import.meta.url).resolve('yaml');
let parsing = 0;
const waiting: (() => void)[] = [];

const refused = (message: string) => new ValidationError([{ path: 'yaml', message }]);

/**
 * The documents of a YAML stream, read within `limits`. A refusal is a
 * ValidationError at path `yaml` saying which limit; a busy gateway answers
 * UnavailableError. The event loop only checks the size and waits.
 */
export async function readYaml(text: string, limits: YamlLimits): Promise<YamlDocument[]> {
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxBytes) throw refused(`${bytes} bytes; at most ${limits.maxBytes}`);
  if (parsing < maxParsing) parsing++;
  else if (waiting.length >= maxWaiting) throw new UnavailableError('Too many YAML inputs are being read; try again shortly.');
  else await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing parse hands its slot over
  try {
    return await parseInWorker(text, limits);
  } finally {
    const next = waiting.shift();
    if (next) next();
    else parsing--;
  }
}

function parseInWorker(text: string, limits: YamlLimits): Promise<YamlDocument[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { yamlPath, text, maxDepth: limits.maxDepth, maxAliases: limits.maxAliases },
      // A heap a little over what the largest allowed input can need; past it the worker dies, not the gateway.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    // The clock starts once the worker has loaded the parser: only the parse is the input's doing.
    worker.on('message', (m: 'ready' | { documents?: YamlDocument[]; limit?: string }) => {
      if (m === 'ready') {
        timer = setTimeout(
          () => settle(() => reject(refused(`not read within ${limits.parseTimeoutMs} ms: split it or simplify its nesting`))),
          limits.parseTimeoutMs,
        );
        return;
      }
      settle(() => (m.documents ? resolve(m.documents) : reject(refused(m.limit ?? 'not read'))));
    });
    worker.once('error', (err: Error & { code?: string }) =>
      settle(() =>
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY' || err instanceof RangeError
            ? refused('too large to read (memory or nesting): split it or simplify its nesting')
            : err,
        ),
      ),
    );
    worker.once('exit', () => settle(() => reject(new Error('YAML worker exited without an answer'))));
  });
}
