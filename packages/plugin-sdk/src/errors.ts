/**
 * What a `ctx` call throws when core refuses it (permission not declared, secret not declared,
 * message too large, storage failure…). `code` is one of the product's stable error codes
 * (`PERMISSION_DENIED`, `SECRET_NOT_DECLARED`, `RPC_MESSAGE_TOO_LARGE`, …), `hint` says what to
 * change in plugin.yaml or in the code. Match on `code`, never on `message`.
 */
export class PluginCallError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(body: { code: string; message: string; hint: string }) {
    super(body.message);
    this.name = 'PluginCallError';
    this.code = body.code;
    this.hint = body.hint;
  }
}
