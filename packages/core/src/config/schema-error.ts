/**
 * The first schema error of a configuration file as "field.path: what is wrong", the way the
 * start-up errors of core's YAML files name the bad field.
 */
interface SchemaError {
  keyword: string;
  instancePath?: string;
  message?: string;
  params?: unknown;
}

export function firstSchemaError(errors: Iterable<SchemaError>): string {
  const all = [...errors];
  // The "boolean" keyword is TypeBox's summary of a failed sub-schema; the real cause is another entry.
  const first = all.find((e) => e.keyword !== 'boolean') ?? all[0];
  const where = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  const extra =
    first?.keyword === 'additionalProperties'
      ? ` (${JSON.stringify((first.params as { additionalProperties?: unknown }).additionalProperties)})`
      : '';
  return `${where}: ${first?.message ?? 'invalid'}${extra}`;
}
