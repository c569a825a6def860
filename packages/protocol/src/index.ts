export * from './manifest-schema.ts';
export * from './error-codes.ts';
export * from './errors.ts';
export * from './validation-report.ts';
export * from './runtime-rpc.ts';
export * from './api-schemas.ts';
export * from './version-handshake.ts';
export * from './dev-schemas.ts';
