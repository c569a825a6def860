/**
 * Which folders a dev install may read from (path mode). Core copies a developer's build out of
 * one of these roots and refuses anything else, so a token holder cannot make core read /etc,
 * another user's files or core's own data through `POST /api/plugins/dev/install {path}`.
 *
 * The roots come from the dev policy (`roots` in dev_policy.yaml, PX_DEV_ROOTS overrides); there
 * is none by default, and then `px-plugin dev` uploads its build instead. Whatever the roots
 * say, core's data folder is never a source: it holds every tenant's installed versions, and
 * reading one of those into your own sandbox would run another tenant's code without its
 * signature check.
 *
 * Errors never tell apart "missing", "a link leading out" and "outside": one answer for all of
 * them, naming only the path the caller sent and the configured roots, so the endpoint cannot be
 * used to learn what exists outside the roots.
 */
import { realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { PxError } from '@powerx/protocol';

/** `~` and `~/x` mean the home folder of the user core runs as; everything else must be absolute. */
export function expandRoot(root: string): string {
  if (root === '~') return homedir();
  if (root.startsWith('~/')) return join(homedir(), root.slice(2));
  return resolve(root);
}

export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** True when `path` is core's data folder, lies under it, or holds it. */
export function touchesDataDir(path: string, dataDir: string): boolean {
  return isInside(path, dataDir) || isInside(dataDir, path);
}

function notAllowed(path: string, roots: string[]): PxError {
  const hint = roots.length
    ? `Allowed dev roots: ${roots.join(', ')} (dev_policy.yaml roots, or PX_DEV_ROOTS). Send an existing folder under one of them (never core's data folder), or let px-plugin dev upload the build (--push upload).`
    : 'No dev roots are configured (dev_policy.yaml roots, or PX_DEV_ROOTS), so core reads no folder: let px-plugin dev upload the build (--push upload, what --push auto falls back to).';
  return new PxError(
    'PATH_NOT_ALLOWED',
    { path },
    {
      message: `Core may not read ${path}: it is not an existing folder inside the allowed dev roots`,
      hint,
    },
  );
}

/**
 * The real path of `path` if it is an existing folder inside one of `roots` and outside
 * `dataDir`; PATH_NOT_ALLOWED otherwise, the same answer whatever the reason.
 */
export async function resolveAllowedPath(path: string, roots: string[], dataDir: string): Promise<string> {
  if (!isAbsolute(path))
    throw new PxError(
      'PATH_NOT_ALLOWED',
      { path },
      {
        message: `Core may not read ${path}: the path must be absolute`,
        hint: 'Send an absolute path (px-plugin dev does).',
      },
    );
  const lexical = resolve(path);
  const realData = await realpath(dataDir).catch(() => resolve(dataDir));
  // Judged on the path as written first: nothing outside the roots is even looked at.
  if (!roots.some((root) => isInside(lexical, root)) || touchesDataDir(lexical, resolve(dataDir)))
    throw notAllowed(path, roots);
  const real = await realpath(lexical).catch(() => undefined);
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!real || !realRoots.some((root) => isInside(real, root)) || touchesDataDir(real, realData))
    throw notAllowed(path, roots);
  return real;
}
