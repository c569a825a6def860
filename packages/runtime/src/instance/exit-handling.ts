/**
 * The end of a plugin process (node plugins: of its IPC broker, which reports the plugin's own
 * exit first). Gathers the facts — how it ended, what the broker, the memory cgroup and the data
 * volume say — and acts on the verdict of `policy/exit-classification.ts`.
 */
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { PluginRuntimeError } from '@powerx/protocol';
import { exitFromShell } from '../find-namespace-pid.ts';
import { classifyExit } from '../policy/exit-classification.ts';
import type { SupervisorContext } from './context.ts';
import { killPid, toFailure, type Instance } from './instance.ts';

export function handleExit(
  ctx: SupervisorContext,
  inst: Instance,
  child: ChildProcess,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  hooks: { dropSubscriptions(inst: Instance): void; crashed(inst: Instance, how: string): void },
): void {
  let { code, signal } = exit;
  if (inst.child !== child) return;
  if (inst.spec.manifest.runtime.kind === 'node') {
    // `child` is the IPC broker. It reports the plugin's own exit before it ends; a broker that
    // ends without that report died (killed, or out of its small heap on an endless line): the
    // plugin must not survive it, and the instance fails for its IPC output.
    const reported = inst.pluginExit;
    if (!reported) {
      if (inst.info.pid !== undefined) killPid(inst.info.pid, 'SIGKILL');
      if (!inst.violation && !inst.stopRequested && inst.discarded !== child) {
        const max = ctx.opts.maxMessageBytes;
        inst.violation = inst.memoryExhausted
          ? new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', { size: `more than ${max}`, limit: max })
          : new PluginRuntimeError('RPC_INVALID', {
              detail: `the IPC broker of the instance ended (${signal ? `signal ${signal}` : `code ${code}`})`,
            });
      }
    }
    code = reported ? reported.code : code;
    signal = reported ? reported.signal : signal;
  } else if (inst.pidDepth) {
    // The sandbox wrapper turned a death by signal N into code 128+N.
    ({ code, signal } = exitFromShell(code, signal, osConstants.signals as Record<string, number>));
  }
  inst.child = undefined;
  const discarded = inst.discarded === child;
  inst.discarded = undefined;
  inst.accepting = false;
  inst.info.pid = undefined;
  clearInterval(inst.quotaTimer);
  hooks.dropSubscriptions(inst);
  for (const seed of inst.seeds.values())
    seed.reject(new PluginRuntimeError('SEED_FAILED', { detail: 'the plugin process exited' }));
  inst.seeds.clear();
  for (const resolve of inst.exitWaiters.splice(0)) resolve();
  const startup = inst.startup;
  const judge = (oomKilled: boolean, diskFull: boolean) => {
    const hung = Boolean(inst.hung);
    inst.hung = false;
    const verdict = classifyExit({
      code,
      signal,
      starting: Boolean(startup),
      stopRequested: inst.stopRequested,
      discarded,
      alreadyFailed: inst.info.state === 'failed',
      violation: inst.violation,
      memoryExhausted: inst.memoryExhausted || oomKilled,
      hung,
      diskFull,
      fatalMessage: startup?.fatalMessage,
      stderrTail: inst.stderrTail,
      secrets: Object.values(inst.spec.secrets),
      resources: inst.spec.manifest.resources,
    });
    if (verdict.kind === 'ignore') return;
    if (verdict.kind === 'crash') {
      hooks.crashed(inst, verdict.how);
      return;
    }
    const error =
      inst.violation?.code === verdict.code
        ? inst.violation
        : new PluginRuntimeError(verdict.code, verdict.params);
    if (verdict.kind === 'start-failed') startup?.fail(error);
    else ctx.fail(inst, error.code, toFailure(error));
  };
  if (inst.stopRequested || discarded) {
    judge(false, false);
    return;
  }
  // The kernel may have ended it: a SIGKILL from the memory cgroup's OOM killer, or ENOSPC on
  // its full data volume. Ask before judging.
  const { cgroup, volume } = inst;
  void Promise.all([
    cgroup && signal === 'SIGKILL' ? cgroup.oomKills().then((n) => n > inst.oomKillsBefore) : false,
    volume
      ? volume.full().then((full) => full || (inst.diskExhausted && volume.kind === 'ext4-loop'))
      : false,
  ]).then(
    ([oom, full]) => judge(oom, full),
    () => judge(false, false),
  );
}
