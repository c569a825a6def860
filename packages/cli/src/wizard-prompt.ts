/**
 * Questions on a TTY (the install wizard, login). Secret answers are not echoed. Off a TTY there
 * is nobody to ask: callers check `canAsk()` and fail with a hint instead.
 */
import { createInterface } from 'node:readline';

export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export function ask(question: string, opts: { secret?: boolean } = {}): Promise<string> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal: Boolean(process.stdin.isTTY),
  });
  if (opts.secret) {
    // Echo nothing while the answer is typed: readline writes through _writeToOutput.
    const writer = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    writer._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
  }
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      if (opts.secret) process.stderr.write('\n');
      rl.close();
      resolve(answer.trim());
    });
  });
}
