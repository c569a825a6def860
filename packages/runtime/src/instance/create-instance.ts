/** A new instance record, in state `starting`, before anything is spawned. */
import type { StartSpec } from '../contract.ts';
import { LogCapture } from '../log-capture.ts';
import { messageBytes } from '../rpc-gate.ts';
import type { ResolvedOptions } from './context.ts';
import type { Instance } from './instance.ts';
import { join } from 'node:path';
import { Turns } from './turns.ts';

/** Storage calls of one instance in core's database at a time; the rest wait in its own queue. */
const STORAGE_CALLS_AT_ONCE = 2;

export function createInstance(
  id: string,
  spec: StartSpec,
  opts: ResolvedOptions,
  onPhase: Instance['onPhase'],
  send: (inst: Instance, message: object) => void,
): Instance {
  const inst: Instance = {
    info: {
      id,
      tenant: spec.tenant,
      pluginId: spec.pluginId,
      version: spec.version,
      pid: undefined,
      state: 'starting',
      socketPath: join(opts.runDir, 's', `${id}.sock`),
      isolation: {
        level: 'none',
        permissionModel: false,
        networkNamespace: false,
        pidNamespace: false,
        prlimit: false,
        notes: [],
      },
      startedAt: new Date().toISOString(),
      restarts: 0,
      usage: { rssMb: 0, privateMb: 0, cpuPercent: 0, diskMb: 0 },
      logsDropped: 0,
    },
    spec,
    instanceDir: join(opts.runDir, 'i', id),
    accepting: false,
    onPhase,
    logs: new LogCapture(
      opts.logSink,
      { tenant: spec.tenant, plugin: spec.pluginId, version: spec.version, instance: id },
      opts.logRate,
      Object.values(spec.secrets),
    ),
    crashes: [],
    cpuOver: 0,
    samples: 0,
    throttledBefore: 0,
    oomKillsBefore: 0,
    diskMeasuring: false,
    stopRequested: false,
    exitWaiters: [],
    memoryExhausted: false,
    diskExhausted: false,
    stderrTail: [],
    seeds: new Map(),
    nextSeedId: 1,
    pidDepth: 0,
    scope: {
      tenant: spec.tenant,
      pluginId: spec.pluginId,
      manifest: spec.manifest,
      secrets: spec.secrets,
      subscriptions: new Map(),
      deliver: (type, payload, meta) => {
        const event = { t: 'event', type, payload, meta };
        const size = messageBytes(event);
        const max = opts.maxMessageBytes;
        // The cap holds both ways: an oversized event is not delivered, and the log says so (within
        // the plugin's budget: another plugin of the tenant may publish such events in a loop).
        if (size > max)
          inst.logs.writeCaused(
            'warn',
            `event ${type} not delivered: ${size} bytes is over the ${max}-byte cap`,
          );
        else send(inst, event);
      },
    },
    rpcInFlight: 0,
    storageTurns: new Turns(STORAGE_CALLS_AT_ONCE),
    refusedMessages: 0,
    livenessFailures: 0,
    probing: false,
  };
  return inst;
}
