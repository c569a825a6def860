import { describe, expect, it } from 'vitest';
import { ReloadLanes } from './reload-lanes.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('reload lanes', () => {
  it('runs the reloads of one plugin one at a time and keeps only the newest waiting build', async () => {
    const lanes = new ReloadLanes();
    const first = gate();
    const ran: string[] = [];
    const job = (name: string, wait?: Promise<void>) => async () => {
      ran.push(name);
      await wait;
      return name;
    };
    const a = lanes.run('t', 'p', job('a', first.opened), () => 'a superseded');
    const b = lanes.run('t', 'p', job('b'), () => 'b superseded');
    const c = lanes.run('t', 'p', job('c'), () => 'c superseded');
    expect(await b).toBe('b superseded');
    first.open();
    expect(await a).toBe('a');
    expect(await c).toBe('c');
    expect(ran).toEqual(['a', 'c']);
  });

  it('runs the reloads of different plugins side by side', async () => {
    const lanes = new ReloadLanes();
    const hold = gate();
    const slow = lanes.run(
      't',
      'p1',
      async () => (await hold.opened, 'p1'),
      () => 'superseded',
    );
    expect(
      await lanes.run(
        't',
        'p2',
        async () => 'p2',
        () => 'superseded',
      ),
    ).toBe('p2');
    hold.open();
    expect(await slow).toBe('p1');
  });

  it('cuts the grace watch of a held lane short when a newer build arrives', async () => {
    const lanes = new ReloadLanes();
    let cut = false;
    await lanes.run(
      't',
      'p',
      async (lane) => {
        lane.held = true;
        lane.cutGrace = () => {
          cut = true;
          lanes.done(lane);
        };
        return 'answered';
      },
      () => 'superseded',
    );
    expect(
      await lanes.run(
        't',
        'p',
        async () => 'next',
        () => 'superseded',
      ),
    ).toBe('next');
    expect(cut).toBe(true);
  });

  it('answers superseded once closed and drains a lane before an uninstall', async () => {
    const lanes = new ReloadLanes();
    const hold = gate();
    const running = lanes.run(
      't',
      'p',
      async () => (await hold.opened, 'done'),
      () => 'superseded',
    );
    const waiting = lanes.run(
      't',
      'p',
      async () => 'never',
      () => 'superseded',
    );
    const drained = lanes.drain('t', 'p');
    expect(await waiting).toBe('superseded');
    hold.open();
    await drained;
    expect(await running).toBe('done');
    lanes.close();
    expect(
      await lanes.run(
        't',
        'p',
        async () => 'late',
        () => 'superseded',
      ),
    ).toBe('superseded');
  });
});
