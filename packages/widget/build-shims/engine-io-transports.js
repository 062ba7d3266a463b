// Build-time stand-in for engine.io-client's transport table: the widget's socket forces `transports: ['websocket']` (client/signaling.ts), so HTTP long-polling and WebTransport stay out of the bundle.
import { WS } from '../../../node_modules/engine.io-client/build/esm/transports/websocket.js';

export const transports = { websocket: WS };
