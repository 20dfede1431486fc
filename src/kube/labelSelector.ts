/**
 * Kubernetes label selectors, as `kubectl -l` takes them: `a=b`, `a==b`, `a!=b`,
 * `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, joined by commas.
 */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

const requirement = /^\s*(?:(!)\s*([\w./-]+)|([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*)|\s(in|notin)\s*\(([^)]*)\))?)\s*$/;

export class LabelSelectorError extends Error {}

export function parseLabelSelector(selector: string): LabelMatcher {
  if (selector.length > 4096) throw new LabelSelectorError('selector too long');
  const parts = splitTopLevel(selector).filter((p) => p.trim() !== '');
  const tests = parts.map((part): LabelMatcher => {
    const m = requirement.exec(part);
    if (!m) throw new LabelSelectorError(`cannot parse "${part.trim()}"`);
    const [, not, notKey, key, op, value, setOp, set] = m;
    if (not && notKey) return (l) => !(notKey in l);
    if (!key) throw new LabelSelectorError(`cannot parse "${part.trim()}"`);
    if (op === '=' || op === '==') return (l) => l[key] === value;
    if (op === '!=') return (l) => l[key] !== value;
    if (setOp) {
      const values = new Set((set ?? '').split(',').map((v) => v.trim()));
      return setOp === 'in'
        ? (l) => key in l && values.has(l[key] as string)
        : (l) => !(key in l && values.has(l[key] as string));
    }
    return (l) => key in l;
  });
  return (labels) => tests.every((t) => t(labels));
}

/** Splits on commas outside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}
