import { openSync, closeSync, writeSync, mkdirSync, rmSync, constants as c } from 'node:fs';
const buf = Buffer.alloc(32768, 97);
for (const flags of [c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, c.O_WRONLY | c.O_CREAT | c.O_TRUNC]) {
  for (const withData of [false, true]) {
    rmSync('/tmp/pf-open', { recursive: true, force: true }); mkdirSync('/tmp/pf-open');
    let t = performance.now(); let to = 0;
    for (let i = 0; i < 2000; i++) { const t0 = performance.now(); const fd = openSync('/tmp/pf-open/f' + i, flags, 0o644); to += performance.now() - t0; if (withData) writeSync(fd, buf); closeSync(fd); }
    console.log(flags, withData, 'total', (performance.now() - t).toFixed(0), 'open', to.toFixed(0));
  }
}
