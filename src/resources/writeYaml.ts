import { Document, visit } from 'yaml';

/**
 * YAML a kubectl user can trust. kubectl reads YAML with `sigs.k8s.io/yaml`
 * (go-yaml v2: YAML 1.1, plus Go's own number syntax), where a plain `yes`,
 * `no`, `on`, `off`, `y` or `n` is a boolean, `0b101`, `0o17`, `012`, `1_000`
 * and `1:20` are numbers and `2001-12-14` a timestamp. Every string is written
 * so that a YAML 1.1 reader, a YAML 1.2 reader and go-yaml read back exactly
 * that string: the YAML 1.1 schema quotes what 1.1 resolves, and strings
 * go-yaml hands to Go's number parser or its word table (any starting with a
 * digit, sign or dot, the boolean and null words in any case, `<<`, `=`) are
 * always quoted.
 */
const goYamlAmbiguous = /^(?:[-+.0-9~]|<<$|=$|(?:y|yes|n|no|true|false|on|off|null)$)/i;

/** One object as a YAML document. */
export function writeYaml(value: unknown): string {
  const doc = new Document(value, {
    version: '1.1',
    // Without the merge tag: a `<<` string is a string, quoted below, not a merge key.
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:merge'),
  });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && goYamlAmbiguous.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString();
}

/** Several objects as one YAML stream, `---` between documents. */
export function writeYamlStream(values: readonly unknown[]): string {
  return values.map(writeYaml).join('---\n');
}
