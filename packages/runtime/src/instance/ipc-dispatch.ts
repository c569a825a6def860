/**
 * Messages from a node plugin's IPC broker: the broker's own reports (`broker.*`) and the plugin's
 * messages it admitted (ready, fatal, log, seed.done, rpc). The gate runs again here: it is cheap
 * and keeps this the one door into core.
 */
import type { ChildProcess } from 'node:child_process';
import { PluginRuntimeError, type RunnerToSupervisor } from '@powerx/protocol';
import { admitMessage, messageBytes } from '../rpc-gate.ts';
import { errorBody, serveCall } from '../rpc-host.ts';
import type { SupervisorContext } from './context.ts';
import type { Instance } from './instance.ts';

const MAX_RPC_IN_FLIGHT = 256;
/** Characters of a `fatal` message's stack kept in its log line (the fields of a line are capped). */
const STACK_CHARS = 4096;

export function onChildMessage(
  ctx: SupervisorContext,
  inst: Instance,
  child: ChildProcess,
  raw: unknown,
): void {
  if (inst.child !== child) return;
  if (onBrokerMessage(ctx, inst, raw)) return;
  const gate = admitMessage(raw, ctx.opts.maxMessageBytes);
  if (!gate.ok) {
    inst.refusedMessages++;
    inst.logs.writeCaused('warn', `refused a message from the plugin: ${gate.error.message}`, {
      code: gate.error.code,
    });
    if (gate.id !== undefined)
      ctx.send(inst, { t: 'rpc.result', id: gate.id, ok: false, error: errorBody(gate.error) });
    return;
  }
  const message: RunnerToSupervisor = gate.message;
  switch (message.t) {
    case 'ready':
      inst.startup?.runnerReady();
      break;
    case 'fatal':
      if (inst.startup) inst.startup.fatalMessage = message.message;
      inst.logs.writeCaused(
        'error',
        `plugin failed to start: ${message.message}`,
        // The top of the stack says where; the whole of it would be cut from the line's fields.
        message.stack ? { stack: message.stack.slice(0, STACK_CHARS) } : undefined,
      );
      break;
    case 'log':
      inst.logs.write('sdk', message.level, message.msg, message.fields);
      break;
    case 'seed.done': {
      const seed = inst.seeds.get(message.id);
      if (!seed) break;
      inst.seeds.delete(message.id);
      if (message.ok) seed.resolve();
      else seed.reject(new PluginRuntimeError('SEED_FAILED', { detail: message.message }));
      break;
    }
    case 'rpc':
      serveRpc(ctx, inst, child, message);
      break;
  }
}

function serveRpc(
  ctx: SupervisorContext,
  inst: Instance,
  child: ChildProcess,
  message: Extract<RunnerToSupervisor, { t: 'rpc' }>,
): void {
  const max = ctx.opts.maxMessageBytes;
  if (inst.rpcInFlight >= MAX_RPC_IN_FLIGHT) {
    const error = new PluginRuntimeError('RPC_INVALID', {
      detail: `more than ${MAX_RPC_IN_FLIGHT} calls in flight`,
    });
    ctx.send(inst, { t: 'rpc.result', id: message.id, ok: false, error: errorBody(error) });
    return;
  }
  inst.rpcInFlight++;
  const serve = () => serveCall(message, inst.scope, ctx.opts.host);
  (message.method.startsWith('storage.') ? inst.storageTurns.run(serve) : serve())
    .then(
      (value) => {
        const reply = { t: 'rpc.result', id: message.id, ok: true, value: value ?? null };
        const size = messageBytes(reply);
        if (size <= max) return reply;
        const error = new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', { size, limit: max });
        return { t: 'rpc.result', id: message.id, ok: false, error: errorBody(error) };
      },
      (error: unknown) => {
        const body = errorBody(error);
        if (body.code === 'PERMISSION_DENIED' || body.code === 'SECRET_NOT_DECLARED')
          inst.logs.writeCaused('warn', `refused ${message.method}: ${body.message}`, {
            code: body.code,
          });
        else if (body.code === 'INTERNAL')
          inst.logs.writeCaused(
            'error',
            `${message.method} failed in core: ${(error as Error)?.message ?? String(error)}`,
          );
        return { t: 'rpc.result', id: message.id, ok: false, error: body };
      },
    )
    .then((reply) => {
      inst.rpcInFlight--;
      if (inst.child === child) ctx.send(inst, reply);
    });
}

/** The broker's own reports (broker.ts); plugin messages can never carry these types (the gate refuses them). */
function onBrokerMessage(ctx: SupervisorContext, inst: Instance, raw: unknown): boolean {
  const m = raw as { t?: unknown } & Record<string, unknown>;
  if (typeof m?.t !== 'string' || !m.t.startsWith('broker.')) return false;
  const max = ctx.opts.maxMessageBytes;
  switch (m.t) {
    case 'broker.spawned':
      inst.info.pid = m.pid as number;
      inst.onPluginSpawned?.(m.pid as number);
      inst.onPluginSpawned = undefined;
      break;
    case 'broker.refused':
      inst.refusedMessages++;
      inst.logs.writeCaused('warn', `refused a message from the plugin: ${String(m.message)}`, {
        code: m.code,
      });
      break;
    case 'broker.violation': {
      const detail = String(m.detail);
      inst.violation =
        m.code === 'RPC_MESSAGE_TOO_LARGE'
          ? new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', {
              size: `more than ${Number(m.size) || max}`,
              limit: max,
            })
          : new PluginRuntimeError('RPC_INVALID', { detail });
      // The broker killed and reaped the plugin before reporting.
      inst.pluginExit = { code: null, signal: 'SIGKILL' };
      inst.logs.write('runtime', 'error', `IPC channel violation: ${detail}; the plugin process was killed`, {
        code: inst.violation.code,
      });
      break;
    }
    case 'broker.exit':
      inst.pluginExit = {
        code: (m.code as number | null) ?? null,
        signal: (m.signal as NodeJS.Signals | null) ?? null,
      };
      if (typeof m.error === 'string') {
        inst.logs.write('runtime', 'error', `process error: ${m.error}`);
        inst.stderrTail.push(m.error.slice(0, 500));
      }
      break;
  }
  return true;
}
