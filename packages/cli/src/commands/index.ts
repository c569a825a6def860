import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerInit } from './init.ts';
import { registerBuild } from './build.ts';
import { registerKeygen } from './keygen.ts';
import { registerSign } from './sign.ts';
import { registerValidate } from './validate.ts';
import { registerInspect } from './inspect.ts';
import { registerLogin } from './login.ts';
import { registerInstall } from './install.ts';
import { registerStatus } from './status.ts';
import { registerList } from './list.ts';
import { registerRollback } from './rollback.ts';
import { registerUninstall } from './uninstall.ts';
import { registerAudit } from './audit.ts';
import { registerLogs } from './logs.ts';
import { registerKeys } from './keys.ts';
import { registerDev } from './dev.ts';
import { registerBackup } from './backup.ts';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * Every command of px-plugin, in the order `--help` lists them. A new command is a new file in
 * this folder exporting `register<Name>(program, ctx)`, plus one line here.
 */
export const COMMANDS: RegisterCommand[] = [
  registerInit,
  registerBuild,
  registerKeygen,
  registerSign,
  registerValidate,
  registerInspect,
  // core: talk to a running core
  registerLogin,
  registerInstall,
  registerStatus,
  registerList,
  registerRollback,
  registerUninstall,
  registerAudit,
  registerLogs,
  registerKeys,
  registerDev,
  registerBackup,
];
