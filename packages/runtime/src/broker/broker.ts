/**
 * The IPC broker: a small trusted process between core and ONE sandboxed plugin process. It owns
 * the plugin's IPC channel, so Node's channel parser for bytes the plugin can write (fd 3 is open
 * in the plugin, and the permission model does not check writes to a file descriptor) runs here,
 * never in core. A line of garbage or an endless line kills this process at worst; core only ever
 * parses messages this broker wrote, after it checked their size and schema.
 *
 * Protocol with the supervisor (over the broker's own IPC channel, which only trusted code writes):
 *   core → broker  {t:'broker.spawn', plan}        spawn the plugin (the supervisor's spawn plan)
 *                  'conn' + socket handle          re-sent to the plugin with the handle
 *                  init / rpc.result / event / seed   relayed as they are
 *   broker → core  {t:'broker.spawned', pid}       the plugin's pid (for /proc sampling and kills)
 *                  {t:'broker.refused', code, message}  a parseable message failed the gate (logged)
 *                  {t:'broker.violation', code, detail}  unparseable or unbounded output: plugin killed
 *                  {t:'broker.exit', code, signal} the plugin exited; the broker exits right after
 *                  any message that passed the gate (ready, fatal, log, seed.done, rpc)
 * Trusted code only, and as little of it as possible: it is bundled with the rpc gate into one file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { GateResult } from '../rpc-gate.ts';
import { exitFromShell, findNamespacedPid } from '../find-namespace-pid.ts';

// The gate (TypeBox validators compiled from the protocol schemas) loads after the plugin is
// spawned, while the plugin boots: it costs ~30 ms that would otherwise add to every cold start.
let admit: ((message: unknown, maxBytes: number) => GateResult) | undefined;
const early: unknown[] = [];

interface BrokerPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  maxMessageBytes: number;
  /** Processes between the spawned one and the plugin (PID namespace wrappers); 0: none. */
  pidDepth?: number;
  /** A file holding the seccomp program, handed to bwrap on fd 4. */
  seccompFile?: string;
}

const toCore = process.send?.bind(process);
if (!toCore) {
  process.stderr.write('the IPC broker must be started by the PowerX supervisor\n');
  process.exit(78);
}

let plugin: ChildProcess | undefined;
/** Host pid of the plugin process itself (differs from plugin.pid inside a PID namespace). */
let pluginPid: number | undefined;
let pidNamespace = false;

/**
 * Signals the plugin process itself, by its host pid, once known: its sandbox wrappers then exit
 * with its status (a SIGKILL to the wrapper would be reported before the plugin is gone). Before
 * that, the wrapper: killing it ends the whole PID namespace (bwrap --die-with-parent).
 */
function signalPlugin(signal: NodeJS.Signals): void {
  if (!plugin) return;
  if (pidNamespace && pluginPid !== undefined) {
    try {
      process.kill(pluginPid, signal);
    } catch {
      /* gone already */
    }
  } else plugin.kill(signal);
}
let maxBytes = 1024 * 1024;
let ending = false;

function send(message: unknown, then?: () => void): void {
  try {
    toCore!(message, undefined, {}, () => then?.());
  } catch {
    then?.();
  }
}

/** Ends the instance for a protocol violation: kill the plugin, wait for it (we reap it), report, exit. */
function violation(code: 'RPC_INVALID' | 'RPC_MESSAGE_TOO_LARGE', detail: string, size?: number): void {
  if (ending) return;
  ending = true;
  const report = () =>
    send({ t: 'broker.violation', code, detail, ...(size ? { size } : {}) }, () => process.exit(0));
  if (plugin && plugin.exitCode === null && plugin.signalCode === null) {
    plugin.once('exit', report);
    signalPlugin('SIGKILL');
  } else report();
  setTimeout(() => process.exit(0), 2000).unref();
}

// Node's channel parser throws (SyntaxError in parseChannelMessages) on a line that is not JSON.
// Here, unlike in core, that is the expected way a hostile plugin shows itself.
process.on('uncaughtException', (error) => {
  const parse = /parseChannelMessages|JSON/.test(String(error?.stack));
  violation(
    'RPC_INVALID',
    parse
      ? 'the plugin wrote bytes that are not a JSON message to its IPC channel'
      : `IPC broker error: ${String(error?.message ?? error).slice(0, 200)}`,
  );
});

/**
 * Node buffers an unfinished line without bound. After every read of the plugin's channel, look
 * at the pending line (Node keeps it under a symbol on the raw channel handle, itself under a
 * symbol on the ChildProcess) and end the instance once it outgrows the cap. No timer: an idle
 * broker costs no wake-ups. The broker's small heap limit is the backstop if that internal moves.
 */
function watchFlood(child: ChildProcess): void {
  const symbolOf = (o: object, name: string) =>
    Object.getOwnPropertySymbols(o).find((s) => s.description === name);
  const handleKey = symbolOf(child, 'kChannelHandle');
  const channel = handleKey
    ? (child as unknown as Record<symbol, { onread?: (...args: unknown[]) => unknown } | undefined>)[
        handleKey
      ]
    : undefined;
  const key = channel && symbolOf(channel, 'kJSONBuffer');
  const onread = channel?.onread;
  if (!channel || !key || typeof onread !== 'function') return;
  const limit = maxBytes + 64 * 1024;
  channel.onread = function (this: unknown, ...args: unknown[]) {
    const result = onread.apply(this, args);
    const pending = ((channel as unknown as Record<symbol, string | undefined>)[key] ?? '').length;
    if (pending > limit)
      violation(
        'RPC_MESSAGE_TOO_LARGE',
        `the plugin wrote over ${limit} bytes to its IPC channel without ending a message`,
        pending,
      );
    return result;
  };
}

function start(plan: BrokerPlan): void {
  maxBytes = plan.maxMessageBytes;
  let seccomp: number | undefined;
  try {
    seccomp = plan.seccompFile ? openSync(plan.seccompFile, 'r') : undefined;
  } catch (error) {
    send({ t: 'broker.exit', code: null, signal: null, error: String(error) }, () => process.exit(0));
    return;
  }
  const child = spawn(plan.command, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    // stdout/stderr go straight to the supervisor's pipes (log capture); fd 3 is the channel we
    // own; fd 4 the seccomp program bwrap loads.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(seccomp === undefined ? [] : [seccomp])],
    serialization: 'json',
  });
  if (seccomp !== undefined) closeSync(seccomp);
  plugin = child;
  child.on('error', (error) => {
    if (child.pid === undefined)
      send({ t: 'broker.exit', code: null, signal: null, error: error.message }, () => process.exit(0));
  });
  if (child.pid === undefined) return;
  pidNamespace = Boolean(plan.pidDepth);
  const alive = () => child.exitCode === null && child.signalCode === null;
  if (!pidNamespace) {
    pluginPid = child.pid;
    send({ t: 'broker.spawned', pid: child.pid });
  } else
    void findNamespacedPid(child.pid, alive, plan.pidDepth).then((pid) => {
      if (pid === undefined || !alive()) return;
      pluginPid = pid;
      send({ t: 'broker.spawned', pid });
    });
  watchFlood(child);
  const relay = (raw: unknown) => {
    if (ending) return;
    const gate = admit!(raw, maxBytes);
    if (gate.ok) {
      send(gate.message);
      return;
    }
    const { code, message, hint } = gate.error;
    if (gate.id !== undefined)
      child.send(
        { t: 'rpc.result', id: gate.id, ok: false, error: { code, message, hint } },
        () => undefined,
      );
    send({ t: 'broker.refused', code, message });
  };
  child.on('message', (raw: unknown) => {
    if (admit) relay(raw);
    else if (early.push(raw) > 1000)
      violation('RPC_INVALID', 'the plugin sent over 1000 messages before the broker was ready');
  });
  void import('../rpc-gate.ts').then((gate) => {
    admit = gate.admitMessage;
    for (const raw of early.splice(0)) relay(raw);
  });
  child.on('exit', (rawCode, rawSignal) => {
    if (ending) return;
    ending = true;
    const { code, signal } = pidNamespace
      ? exitFromShell(rawCode, rawSignal, constants.signals as Record<string, number>)
      : { code: rawCode, signal: rawSignal };
    send({ t: 'broker.exit', code, signal }, () => process.exit(0));
  });
}

process.on('message', (message: unknown, handle?: unknown) => {
  if (message === 'conn') {
    const socket = handle as Socket | undefined;
    if (!socket) return;
    // Node started reading the socket when it wrapped the handle; stop before the loop polls it,
    // so not one byte of the request is read here: the plugin's http server gets all of it.
    (socket as unknown as { _handle?: { readStop?(): void } })._handle?.readStop?.();
    if (!plugin?.connected || ending) {
      socket.destroy();
      return;
    }
    plugin.send('conn', socket, { keepOpen: false }, (error) => {
      if (error) socket.destroy();
    });
    return;
  }
  const m = message as { t?: unknown; plan?: BrokerPlan };
  if (m?.t === 'broker.spawn') {
    if (!plugin && m.plan) start(m.plan);
    return;
  }
  if (plugin?.connected && !ending) plugin.send(message as object, () => undefined);
});

// Before the plugin exists a stop reaches the broker itself; afterwards the supervisor signals the plugin by pid.
process.on('SIGTERM', () => {
  if (plugin) signalPlugin('SIGTERM');
  else process.exit(0);
});

// Core went away: the plugin must not outlive it.
process.on('disconnect', () => {
  signalPlugin('SIGKILL');
  if (!plugin || plugin.exitCode !== null || plugin.signalCode !== null) process.exit(0);
  plugin.once('exit', () => process.exit(0));
});
