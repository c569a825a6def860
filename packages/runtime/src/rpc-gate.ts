/**
 * The supervisor's door for messages from a plugin process: size cap first, then the message
 * must match its schema in `@powerx/protocol` (runtime-rpc.ts) exactly (no extra fields: a
 * `tenant` smuggled into a call is refused, not ignored). Validators are compiled once per
 * message kind, which also yields precise error details.
 */
import { Compile } from 'typebox/compile';
import {
  FatalMessageSchema,
  LogMessageSchema,
  PluginRuntimeError,
  ReadyMessageSchema,
  RPC_MAX_MESSAGE_BYTES,
  RpcCallSchema,
  SeedDoneSchema,
  type RunnerToSupervisor,
} from '@powerx/protocol';

type Validator = ReturnType<typeof Compile>;

const byType = new Map<string, Validator>([
  ['ready', Compile(ReadyMessageSchema)],
  ['fatal', Compile(FatalMessageSchema)],
  ['log', Compile(LogMessageSchema)],
  ['seed.done', Compile(SeedDoneSchema)],
]);
const byMethod = new Map<string, Validator>(
  RpcCallSchema.anyOf.map((schema) => [
    (schema.properties.method as unknown as { const: string }).const,
    Compile(schema),
  ]),
);

/** Serialized size as the IPC channel carries it (JSON). Unserializable values count as oversized. */
export function messageBytes(message: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(message) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export type GateResult =
  { ok: true; message: RunnerToSupervisor } | { ok: false; error: PluginRuntimeError; id?: number };

export function admitMessage(message: unknown, maxBytes = RPC_MAX_MESSAGE_BYTES): GateResult {
  const idOf = (m: unknown): number | undefined => {
    const id = (m as { id?: unknown } | null)?.id;
    return Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : undefined;
  };
  const size = messageBytes(message);
  if (size > maxBytes) {
    return {
      ok: false,
      id: idOf(message),
      error: new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', {
        size: Number.isFinite(size) ? size : 'unmeasurable',
        limit: maxBytes,
      }),
    };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return {
      ok: false,
      error: new PluginRuntimeError('RPC_INVALID', { detail: 'a message must be an object' }),
    };
  }
  const m = message as { t?: unknown; method?: unknown };
  let validator: Validator | undefined;
  if (m.t === 'rpc') {
    validator = typeof m.method === 'string' ? byMethod.get(m.method) : undefined;
    if (!validator)
      return {
        ok: false,
        id: idOf(message),
        error: new PluginRuntimeError('RPC_INVALID', {
          detail: `unknown method ${JSON.stringify(m.method)?.slice(0, 80)}`,
        }),
      };
  } else {
    validator = typeof m.t === 'string' ? byType.get(m.t) : undefined;
    if (!validator)
      return {
        ok: false,
        error: new PluginRuntimeError('RPC_INVALID', {
          detail: `unknown message type ${JSON.stringify(m.t)?.slice(0, 80)}`,
        }),
      };
  }
  if (validator.Check(message)) return { ok: true, message: message as RunnerToSupervisor };
  return {
    ok: false,
    id: idOf(message),
    error: new PluginRuntimeError('RPC_INVALID', { detail: describe(validator, message) }),
  };
}

function describe(validator: Validator, value: unknown): string {
  const details: string[] = [];
  for (const error of validator.Errors(value)) {
    if (error.keyword === 'boolean' || error.keyword === 'anyOf') continue;
    const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'message';
    const params = error.params as Record<string, unknown>;
    const text =
      error.keyword === 'additionalProperties'
        ? `${where}: field ${(params.additionalProperties as string[]).join(', ')} is not allowed`
        : error.keyword === 'required'
          ? `${where}: missing ${(params.requiredProperties as string[]).join(', ')}`
          : `${where} ${error.message}`;
    if (!details.includes(text)) details.push(text);
    if (details.length === 3) break;
  }
  return details.join('; ') || 'it does not match the runtime RPC schema';
}
