import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PluginContext } from './context.ts';
import { createRouter, type Routes } from './router.ts';

export type FetchHandler = (request: Request, ctx: PluginContext) => Response | Promise<Response>;
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, ctx: PluginContext) => void;

/**
 * A plugin is one of three kinds of HTTP handler plus optional hooks:
 * - `routes`: the SDK's small router (`'GET /items/:id': (req, ctx) => …`);
 * - `fetch`: a standard `Request → Response` function;
 * - `node`: a plain `node:http` handler, so any Node HTTP framework can be mounted.
 */
export interface PluginDefinition {
  routes?: Routes;
  fetch?: FetchHandler;
  node?: NodeHandler;
  onStart?(ctx: PluginContext): void | Promise<void>;
  onStop?(ctx: PluginContext): void | Promise<void>;
  /** Runs once after generated test data is written, in sandbox installs. */
  seed?(ctx: PluginContext): void | Promise<void>;
}

export const PLUGIN_DEFINITION = Symbol.for('powerx.plugin-definition');

export interface DefinedPlugin extends PluginDefinition {
  readonly [PLUGIN_DEFINITION]: true;
  /** The handler the runner calls for fetch- and route-style plugins. */
  readonly handle?: FetchHandler;
}

export function definePlugin(definition: PluginDefinition): DefinedPlugin {
  const kinds = [definition.routes, definition.fetch, definition.node].filter(Boolean).length;
  if (kinds !== 1) throw new TypeError('definePlugin needs exactly one of routes, fetch or node');
  const handle: FetchHandler | undefined =
    definition.fetch ?? (definition.routes ? createRouter(definition.routes) : undefined);
  return Object.freeze({ ...definition, handle, [PLUGIN_DEFINITION]: true as const });
}

export function isDefinedPlugin(value: unknown): value is DefinedPlugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[PLUGIN_DEFINITION] === true
  );
}
