import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@powerx/protocol';
import { Command } from 'commander';
import { COMMANDS } from './commands/index.ts';

describe('error hints', () => {
  it('name only px-plugin commands that exist', () => {
    // The same registration main.ts does (main.ts itself runs the CLI when imported).
    const program = new Command('px-plugin');
    for (const register of COMMANDS) register(program, { json: false, exitCode: 0 });
    const commands = new Set(program.commands.map((c) => c.name()));
    const named = Object.entries(ERROR_CODES).flatMap(([code, spec]) =>
      [...`${spec.message} ${spec.hint}`.matchAll(/px-plugin ([a-z][a-z-]*)/g)].map((m) => ({
        code,
        command: m[1],
      })),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !commands.has(n.command))).toEqual([]);
  });
});
