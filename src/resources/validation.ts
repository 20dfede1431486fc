import { z } from 'zod';
import type { FieldError } from '../errors.js';
import { dns1123Label, dns1123Subdomain } from '../kube/names.js';
import { catalogName, resourceType, resourceTypes } from './catalog.js';

export type { FieldError };
// runs.ts imports it from here until its planning moves to src/resources/.
export { dns1123Subdomain };

const labelName = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const secretKey = /^[-._a-zA-Z0-9]+$/;
const scpLikeGitUrl = /^[\w.-]+@[\w.-]+:[^\s]+$/;

export const limits = {
  params: 64,
  secrets: 32,
  labels: 64,
  paramValue: 4096,
  description: 1024,
};

const namespace = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(dns1123Label, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending alphanumeric');
const objectName = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(dns1123Subdomain, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."');

const labelKey = z.string().superRefine((key, ctx) => {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !dns1123Subdomain.test(prefix))) {
    ctx.addIssue({ code: 'custom', message: 'prefix must be a DNS-1123 subdomain of at most 253 characters' });
  }
  if (name.length === 0 || name.length > 63 || !labelName.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message: 'name must be 1-63 characters: alphanumerics, "-", "_" or ".", starting and ending alphanumeric',
    });
  }
});
const labelValue = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(labelName, 'must be alphanumerics, "-", "_" or ".", starting and ending alphanumeric');

const resourceInput = z.object({
  namespace,
  name: objectName,
  type: z.string().refine((t) => resourceType(t) !== undefined, {
    message: `unknown resource type; one of: ${resourceTypes.map((t) => t.name).join(', ')}`,
  }),
  description: z.string().max(limits.description, `must be at most ${limits.description} characters`).nullish(),
  params: z
    .array(
      z.object({
        name: z.string().min(1, 'must not be empty'),
        value: z.string().max(limits.paramValue, `must be at most ${limits.paramValue} characters`),
      }),
    )
    .max(limits.params, `at most ${limits.params} params`)
    .nullish(),
  secrets: z
    .array(
      z.object({
        fieldName: z.string().min(1, 'must not be empty'),
        secretName: objectName,
        secretKey: z.string().max(253).regex(secretKey, 'must be alphanumerics, "-", "_" or "."'),
      }),
    )
    .max(limits.secrets, `at most ${limits.secrets} secrets`)
    .nullish(),
  labels: z
    .array(z.object({ key: labelKey, value: labelValue }))
    .max(limits.labels, `at most ${limits.labels} labels`)
    .nullish(),
});

export type PipelineResourceInput = z.input<typeof resourceInput>;

function isUrlLike(value: string, allowScp: boolean): boolean {
  if (allowScp && scpLikeGitUrl.test(value)) return true;
  try {
    const url = new URL(value);
    return url.protocol.length > 1 && (url.host !== '' || url.protocol === 'file:');
  } catch {
    return false;
  }
}

/** Checks that depend on the resource type: known, required, secret-only and well-formed params. */
function typeIssues(input: z.output<typeof resourceInput>): FieldError[] {
  const spec = resourceType(input.type);
  if (!spec) return [];
  const errors: FieldError[] = [];
  const params = input.params ?? [];
  // A legacy type's names match case-insensitively (decision 003): `URL` is `url`, so `URL` and `url` are duplicates.
  const named = (name: string) => catalogName(spec, name) ?? name;
  const seen = new Set<string>();
  params.forEach((p, i) => {
    const path = `input.params[${i}]`;
    const ps = spec.params.find((s) => s.name === named(p.name));
    if (seen.has(named(p.name))) errors.push({ path: `${path}.name`, message: `duplicate param "${p.name}"` });
    seen.add(named(p.name));
    if (!ps) {
      errors.push({
        path: `${path}.name`,
        message: `unknown param "${p.name}" for type ${spec.name}; known: ${spec.params.map((s) => s.name).join(', ')}`,
      });
    } else if (ps.secret) {
      errors.push({ path: `${path}.name`, message: `"${p.name}" is secret: give it through secrets, not as a param` });
    } else if (ps.url && p.value !== '' && !isUrlLike(p.value, spec.name === 'git')) {
      errors.push({ path: `${path}.value`, message: `"${p.name}" must be a URL` });
    } else if (ps.values && p.value !== '' && !ps.values.includes(p.value)) {
      errors.push({ path: `${path}.value`, message: `"${p.name}" must be one of: ${ps.values.join(', ')}` });
    }
  });
  for (const ps of spec.params) {
    if (ps.required && !params.some((p) => named(p.name) === ps.name && p.value.trim() !== '')) {
      errors.push({ path: 'input.params', message: `type ${spec.name} requires param "${ps.name}"` });
    }
  }
  const fields = new Set<string>();
  (input.secrets ?? []).forEach((s, i) => {
    const path = `input.secrets[${i}].fieldName`;
    if (fields.has(s.fieldName)) errors.push({ path, message: `duplicate secret field "${s.fieldName}"` });
    fields.add(s.fieldName);
    if (!spec.params.some((ps) => ps.secret && ps.name === s.fieldName)) {
      const allowed = spec.params.filter((ps) => ps.secret).map((ps) => ps.name);
      errors.push({
        path,
        message: allowed.length
          ? `type ${spec.name} takes secrets for: ${allowed.join(', ')}`
          : `type ${spec.name} takes no secrets`,
      });
    }
  });
  const labelKeys = new Set<string>();
  (input.labels ?? []).forEach((l, i) => {
    if (labelKeys.has(l.key)) errors.push({ path: `input.labels[${i}].key`, message: `duplicate label "${l.key}"` });
    labelKeys.add(l.key);
  });
  return errors;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : `${out}.${String(seg)}`), 'input');
}

export type ValidationResult = { ok: true; value: z.output<typeof resourceInput> } | { ok: false; errors: FieldError[] };

/** Validates a whole input at once, so the caller sees every problem in one answer. */
export function validatePipelineResourceInput(input: unknown): ValidationResult {
  const parsed = resourceInput.safeParse(input);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
  }
  const errors = typeIssues(parsed.data);
  return errors.length ? { ok: false, errors } : { ok: true, value: parsed.data };
}
