/**
 * Which folders a dev install may read from (path mode). Core copies a developer's build out of
 * one of these roots and refuses anything else, so a token holder cannot make core read
 * /etc or another user's files through `POST /api/plugins/dev/install {path}`.
 *
 * The roots come from PX_DEV_ROOTS (config/core-config.ts): by default the home folder of the user
 * core runs as, and the system temp folder (where CI and `px-plugin dev` scratch builds live).
 * Roots and the requested path are compared after resolving symlinks (realpath), so a link
 * inside a root that points out of it does not open a way out.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { PxError } from '@powerx/protocol';

export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** The real path of `path` if it lies inside one of `roots`; PATH_NOT_ALLOWED otherwise. */
export async function resolveAllowedPath(path: string, roots: string[]): Promise<string> {
  if (!isAbsolute(path))
    throw new PxError(
      'PATH_NOT_ALLOWED',
      { path },
      {
        message: `Core may not read ${path}: the path must be absolute`,
        hint: 'Send an absolute path (px-plugin dev does).',
      },
    );
  const real = await realpath(path).catch(() => undefined);
  if (!real)
    throw new PxError('DEV_BUILD_NOT_FOUND', {
      path,
      detail: 'the folder does not exist on the machine core runs on',
    });
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!realRoots.some((root) => isInside(real, root))) {
    throw new PxError(
      'PATH_NOT_ALLOWED',
      { path },
      {
        hint: `Allowed dev roots: ${realRoots.join(', ')} (PX_DEV_ROOTS). Move the project under one of them, or let px-plugin dev upload the build (--push upload).`,
      },
    );
  }
  return real;
}
