/**
 * The secrets an operator gives a plugin must not come back out through what core shows of the
 * plugin: its log lines (API, live stream, Admin) and the failure text taken from its own output.
 * Only the literal values are masked: a plugin that encodes its secret first can still print it,
 * as it can send it anywhere it is allowed to reach. This catches the echo, deliberate or not.
 */

export const MASK = '[secret]';

/** Replaces every occurrence of a secret value (longest first, so none is left half-masked). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** The non-empty values, longest first: the order maskSecrets relies on. */
export function secretValues(secrets: Iterable<string>): string[] {
  return [...new Set([...secrets].filter(Boolean))].sort((a, b) => b.length - a.length);
}

/**
 * The value with every string in it, keys included, masked: a copy when a secret was found, the
 * value itself otherwise (most lines hold none, and copying each one's fields cost half again per line).
 */
export function maskSecretsDeep(value: unknown, secrets: readonly string[], json?: string): unknown {
  if (!secrets.length || !holdsSecret(value, secrets, json)) return value;
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskSecrets(v, secrets);
    if (v === null || typeof v !== 'object') return v;
    // Fields arrive parsed from JSON or over IPC, so a cycle is not expected; never loop on one.
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Array.isArray(v)) return v.map(walk);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [maskSecrets(k, secrets), walk(x)]));
  };
  return walk(value);
}

// A secret's characters are escaped one by one in JSON, so a string holding it holds its escaped
// form in the JSON text; a match across two strings only costs the walk that finds nothing.
// `known`: the value's JSON text, when the caller has it already.
function holdsSecret(v: unknown, secrets: readonly string[], known?: string): boolean {
  let json = known;
  try {
    json ??= JSON.stringify(v);
  } catch {
    return true; // a cycle or a BigInt: the walk decides
  }
  return json !== undefined && secrets.some((s) => json.includes(JSON.stringify(s).slice(1, -1)));
}
