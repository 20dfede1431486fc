/** Reads a nested string, tolerating any shape (objects come from users and legacy Tekton). */
export function str(obj: unknown, ...path: string[]): string | undefined {
  const v = at(obj, path);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Reads a nested array; anything else reads as empty. */
export function arr(obj: unknown, ...path: string[]): unknown[] {
  const v = at(obj, path);
  return Array.isArray(v) ? v : [];
}

function at(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}
