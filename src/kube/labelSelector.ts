import { dns1123Subdomain } from './names.js';

/**
 * Kubernetes label selectors with the apiserver's own grammar (k8s.io/apimachinery/pkg/labels, `Parse`):
 * `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, `a>1`, `a<1`, joined by commas. Keys are
 * qualified names and values label values, checked as Kubernetes checks them; `a in ()` means `a in ("")` and
 * `a=` means `a=""`, as there; a trailing or doubled comma between requirements is refused, as there.
 * test/integration/labelSelector.test.ts compares this parser with the apiserver's, selector by selector.
 */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

export class LabelSelectorError extends Error {}

type Token = { kind: 'id'; text: string } | { kind: '!' | '!=' | '(' | ')' | ',' | '=' | '==' | '>' | '<' | 'end'; text: string };

const symbols = ['!=', '==', '!', '(', ')', ',', '=', '>', '<'] as const;
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSymbol = (c: string) => '=!(),<>'.includes(c);

function tokens(selector: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector[i] as string;
    if (isSpace(c)) {
      i++;
    } else if (isSymbol(c)) {
      const s = symbols.find((sym) => selector.startsWith(sym, i)) as (typeof symbols)[number];
      out.push({ kind: s, text: s });
      i += s.length;
    } else {
      let j = i;
      while (j < selector.length && !isSpace(selector[j] as string) && !isSymbol(selector[j] as string)) j++;
      out.push({ kind: 'id', text: selector.slice(i, j) });
      i = j;
    }
  }
  out.push({ kind: 'end', text: '' });
  return out;
}

const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dns1123Subdomain.test(prefix)))
    throw new LabelSelectorError(`invalid label key "${key}": its prefix must be a DNS-1123 subdomain`);
  if (name.length > 63 || !labelName.test(name))
    throw new LabelSelectorError(
      `invalid label key "${key}": at most 63 characters, alphanumeric at both ends, "-", "_", "." inside`,
    );
}

function checkValue(value: string): void {
  if (value.length > 63 || !labelValue.test(value))
    throw new LabelSelectorError(
      `invalid label value "${value}": at most 63 characters, alphanumeric at both ends, "-", "_", "." inside`,
    );
}

const integer = /^[+-]?\d+$/;
const maxInt64 = 2n ** 63n - 1n;

export function parseLabelSelector(selector: string): LabelMatcher {
  if (selector.length > 4096) throw new LabelSelectorError('selector too long');
  const ts = tokens(selector);
  let at = 0;
  const peek = () => ts[at] as Token;
  const next = () => ts[at++] as Token;
  // Where Kubernetes reads a key or values, `in` and `notin` are plain identifiers.
  const isId = (t: Token) => t.kind === 'id';
  const fail = (t: Token, expected: string): never => {
    throw new LabelSelectorError(`found '${t.text}', expected: ${expected}`);
  };

  const values = (): Set<string> => {
    if (next().kind !== '(') fail(ts[at - 1] as Token, "'('");
    const set = new Set<string>();
    if (peek().kind === ')') {
      next();
      return new Set(['']);
    }
    for (;;) {
      const t = next();
      if (isId(t)) {
        set.add(t.text);
        const after = next();
        if (after.kind === ')') return set;
        if (after.kind !== ',') fail(after, "',' or ')'");
        if (peek().kind === ')') {
          next();
          set.add('');
          return set;
        }
      } else if (t.kind === ',') {
        set.add('');
        if (peek().kind === ')') {
          next();
          return set;
        }
      } else {
        fail(t, "identifier, ',' or ')'");
      }
    }
  };

  const requirement = (): LabelMatcher => {
    let t = next();
    const absent = t.kind === '!';
    if (absent) t = next();
    if (!isId(t)) fail(t, 'identifier');
    const key = t.text;
    checkKey(key);
    if (absent) return (l) => !Object.hasOwn(l, key);
    if (peek().kind === 'end' || peek().kind === ',') return (l) => Object.hasOwn(l, key);
    const op = next();
    const opName = op.kind === 'id' ? op.text : op.kind;
    if (opName === 'in' || opName === 'notin') {
      const set = values();
      for (const v of set) checkValue(v);
      const has = (l: Readonly<Record<string, string>>) => Object.hasOwn(l, key) && set.has(l[key] as string);
      return opName === 'in' ? has : (l) => !has(l);
    }
    if (!['=', '==', '!=', '>', '<'].includes(opName)) fail(op, "'=', '==', '!=', '>', '<', 'in' or 'notin'");
    const v = peek().kind === 'end' || peek().kind === ',' ? '' : next();
    const value = typeof v === 'string' ? v : isId(v) ? v.text : fail(v, 'identifier');
    if (opName === '>' || opName === '<') {
      if (!integer.test(value)) throw new LabelSelectorError(`invalid value "${value}" for '${opName}': not an integer`);
      checkValue(value);
      const bound = BigInt(value);
      if (bound > maxInt64) throw new LabelSelectorError(`invalid value "${value}" for '${opName}': over 64 bits`);
      return (l) => {
        const own = l[key];
        if (own === undefined || !integer.test(own)) return false;
        return opName === '>' ? BigInt(own) > bound : BigInt(own) < bound;
      };
    }
    checkValue(value);
    const equal = (l: Readonly<Record<string, string>>) => Object.hasOwn(l, key) && l[key] === value;
    return opName === '!=' ? (l) => !equal(l) : equal;
  };

  const tests: LabelMatcher[] = [];
  for (;;) {
    const t = peek();
    if (t.kind === 'end') break;
    if (!isId(t) && t.kind !== '!') fail(t, "!, identifier, or 'end of string'");
    tests.push(requirement());
    const after = next();
    if (after.kind === 'end') break;
    if (after.kind !== ',') fail(after, "',' or 'end of string'");
    const following = peek();
    if (!isId(following) && following.kind !== '!') fail(following, "identifier after ','");
  }
  return (labels) => tests.every((test) => test(labels));
}
