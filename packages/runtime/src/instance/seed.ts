/** The seed hook (sandbox.seed module, or definePlugin's `seed`), run inside a node plugin's process. */
import { PluginRuntimeError } from '@powerx/protocol';
import type { Instance } from './instance.ts';

export async function seedInProcess(
  inst: Instance,
  timeoutMs: number,
  send: (inst: Instance, message: object) => void,
): Promise<void> {
  const id = inst.nextSeedId++;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      inst.seeds.delete(id);
      reject(
        new PluginRuntimeError('SEED_FAILED', {
          detail: `the seed hook did not finish within ${timeoutMs} ms`,
        }),
      );
    }, timeoutMs);
    inst.seeds.set(id, {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    send(inst, { t: 'seed', id });
  });
}
