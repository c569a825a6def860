/**
 * Resource sampling of a running instance: memory and CPU from /proc (and the CPU cgroup's
 * throttling), the data folder's size, and liveness probes of the health path.
 */
import { cpuPercent, sampleProcess } from '../proc-stats.ts';
import { heapLimitMb } from '../spawn-plan.ts';
import { probeHealth } from '../health-check.ts';
import { checkDisk, checkMemoryAndCpu } from '../policy/quota-breach.ts';
import type { SupervisorContext } from './context.ts';
import { round1, snapshot, type Instance } from './instance.ts';

export function startSampling(ctx: SupervisorContext, inst: Instance): void {
  clearInterval(inst.quotaTimer);
  inst.samples = 0;
  inst.quotaTimer = setInterval(() => void sample(ctx, inst), ctx.opts.quotaSampleMs);
  inst.quotaTimer.unref();
  void measureDisk(ctx, inst);
}

async function sample(ctx: SupervisorContext, inst: Instance): Promise<void> {
  // The plugin process, not its IPC broker: the broker's memory is core's overhead, bounded
  // by its own small heap limit, and not charged to the plugin's quota.
  const pid = inst.info.pid;
  if (!pid || inst.info.state === 'failed' || inst.stopRequested) return;
  const [current, throttled] = await Promise.all([sampleProcess(pid), inst.cgroup?.throttledPeriods()]);
  if (!current || inst.info.pid !== pid) return;
  const previous = inst.lastSample;
  inst.lastSample = current;
  const usage = inst.info.usage;
  usage.rssMb = round1(current.rssMb);
  usage.privateMb = round1(current.privateMb);
  if (previous) usage.cpuPercent = round1(cpuPercent(previous, current));
  inst.info.logsDropped = inst.logs.dropped;
  const wasThrottled = throttled !== undefined && throttled > inst.throttledBefore;
  if (throttled !== undefined) inst.throttledBefore = throttled;
  const { breach, cpuOver } = checkMemoryAndCpu({
    privateMb: current.privateMb,
    cpuPercent: previous ? usage.cpuPercent : undefined,
    throttled: Boolean(previous) && wasThrottled,
    cpuOverBefore: inst.cpuOver,
    breachSamples: ctx.opts.cpuBreachSamples,
    limits: limitsOf(inst),
    heapLimitMb:
      inst.spec.manifest.runtime.kind === 'node'
        ? heapLimitMb(inst.spec.manifest.resources.memoryMb)
        : undefined,
  });
  inst.cpuOver = cpuOver;
  if (breach) {
    ctx.fail(inst, breach.code, breach.params);
    return;
  }
  inst.samples++;
  if (inst.samples % ctx.opts.livenessEvery === 0) void probeLiveness(ctx, inst);
  if (inst.samples % ctx.opts.diskSampleEvery === 0) await measureDisk(ctx, inst);
  if ((inst.info.state as string) === 'failed') return;
  ctx.emit({ type: 'instance.usage', instance: snapshot(inst) });
}

function limitsOf(inst: Instance) {
  const { memoryMb, cpuPercent, diskMb } = inst.spec.manifest.resources;
  return { memoryMb, cpuPercent, diskMb, maxFiles: inst.volume?.maxFiles ?? Number.POSITIVE_INFINITY };
}

/**
 * A ready instance must keep answering its health path: one that hangs without burning CPU
 * (a deadlock, Atomics.wait, a stuck promise chain in the handler) is restarted after three
 * failed probes in a row, which counts against the restart budget like a crash.
 */
async function probeLiveness(ctx: SupervisorContext, inst: Instance): Promise<void> {
  const child = inst.child;
  if (inst.info.state !== 'ready' || !child || inst.probing) return;
  inst.probing = true;
  const { path, timeoutMs } = inst.spec.manifest.runtime.health;
  const status = await probeHealth(inst.info.socketPath, path, timeoutMs);
  inst.probing = false;
  if (inst.child !== child || inst.info.state !== 'ready') return;
  if (status !== undefined && status >= 200 && status < 300) {
    inst.livenessFailures = 0;
    return;
  }
  inst.livenessFailures++;
  inst.logs.write(
    'runtime',
    'warn',
    `health check ${path} failed (${status ?? 'no answer'}), ${inst.livenessFailures}/3`,
  );
  if (inst.livenessFailures >= 3) {
    inst.livenessFailures = 0;
    inst.hung = true;
    ctx.signalPlugin(inst, 'SIGKILL');
  }
}

/**
 * The data folder's size. On an ext4 image this is one statfs (the file system itself refuses
 * writes past the size). Sampled folders are walked whole — no entry cap — one walk at a time.
 */
export async function measureDisk(ctx: SupervisorContext, inst: Instance): Promise<void> {
  const volume = inst.volume;
  if (!volume || inst.diskMeasuring) return;
  inst.diskMeasuring = true;
  try {
    const { bytes, entries } = await volume.usage();
    inst.info.usage.diskMb = round1(bytes / 2 ** 20);
    inst.info.usage.diskFiles = entries;
    if (volume.kind === 'ext4-loop') return;
    const breach = checkDisk(bytes, entries, limitsOf(inst));
    if (breach) ctx.fail(inst, breach.code, breach.params);
  } catch {
    // unmounted or removed meanwhile: the instance is going away
  } finally {
    inst.diskMeasuring = false;
  }
}
