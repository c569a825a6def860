import Type, { type Static } from 'typebox';

/** One check of the shared validator, as shown by the CLI, the REST API and the Admin. */
export const ValidationCheckSchema = Type.Object({
  id: Type.String({ description: 'stable check id, e.g. archive.safety, signature.trusted' }),
  title: Type.String(),
  ok: Type.Boolean(),
  code: Type.Optional(Type.String()),
  message: Type.String(),
  hint: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Number()),
});
export type ValidationCheck = Static<typeof ValidationCheckSchema>;

export const ValidationReportSchema = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Array(ValidationCheckSchema),
  manifest: Type.Optional(Type.Unknown()),
  signer: Type.Optional(Type.Object({ keyId: Type.String(), algorithm: Type.String() })),
  packageSha256: Type.Optional(Type.String()),
  durationMs: Type.Number(),
});
export type ValidationReport = Static<typeof ValidationReportSchema>;
