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
  warning: Type.Optional(
    Type.Boolean({ description: 'advice only: when it fails, the report as a whole still passes' }),
  ),
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

/** Would the package, which is validated for a sandbox tenant, also fit that tenant's production counterpart? */
export const ProductionParitySchema = Type.Object({
  sandbox: Type.String({ description: 'the sandbox tenant validated against' }),
  tenant: Type.String({ description: 'its production counterpart (sandbox_limits.yaml production)' }),
  fitsSandbox: Type.Boolean(),
  fits: Type.Boolean({ description: 'fits the production tenant too' }),
  exceeded: Type.Array(
    Type.Object({
      limit: Type.String({ description: 'the sandbox_limits.yaml field, e.g. maxMemoryMb' }),
      needed: Type.Union([Type.Number(), Type.String()]),
      allowed: Type.Union([Type.Number(), Type.String()]),
    }),
  ),
  summary: Type.String({ description: 'e.g. "fits sandbox, would not fit default: maxMemoryMb"' }),
});
export type ProductionParity = Static<typeof ProductionParitySchema>;
