/**
 * Terminal rendering of plugin log lines and reload markers, shared by `px-plugin dev` and
 * `px-plugin logs -f`: time, level coloured (debug dim, warn yellow, error red), message, fields.
 * Colours follow output.ts (TTY and NO_COLOR).
 */
import type { LogLine, ReloadMarker } from '@powerx/protocol';
import { styleFor } from '../output.ts';

export function formatLogLine(line: LogLine, stream: NodeJS.WriteStream = process.stdout): string {
  const s = styleFor(stream);
  const time = line.ts.slice(11, 23);
  const level = line.level.toUpperCase().padEnd(5);
  const paint =
    line.level === 'error' || line.level === 'fatal'
      ? s.fail
      : line.level === 'warn'
        ? s.warn
        : line.level === 'info'
          ? (t: string) => t
          : s.dim;
  const fields =
    line.fields && Object.keys(line.fields).length ? ` ${s.dim(JSON.stringify(line.fields))}` : '';
  const source = line.source === 'runtime' ? s.dim(' [runtime]') : '';
  return `${s.dim(time)} ${paint(level)} ${s.dim(line.version)}${source} ${paint(line.msg)}${fields}`;
}

export function formatReload(reload: ReloadMarker, stream: NodeJS.WriteStream = process.stdout): string {
  const s = styleFor(stream);
  const ok = reload.result === 'running';
  const text = `── reload ${reload.result}${reload.version ? ` · ${reload.version}` : ''}${reload.durationMs !== undefined ? ` · ${reload.durationMs} ms` : ''}${reload.reason ? ` · ${reload.reason}` : ''} ──`;
  return ok ? s.ok(text) : s.fail(text);
}
