/**
 * The WebSocket channel `plugin.dev.logs` on `/api/ws`: frame types from protocol
 * (dev-schemas.ts). The channel name is restated because the Admin imports protocol for types
 * only; the compiler checks it against the schema's literal.
 */
import type { WsClientFrame } from '@powerx/protocol';

export type {
  ReloadMarker,
  WsClientFrame as ClientFrame,
  WsServerFrame as ServerFrame,
} from '@powerx/protocol';

export const LOG_CHANNEL = 'plugin.dev.logs' satisfies Extract<
  WsClientFrame,
  { type: 'subscribe' }
>['channel'];
