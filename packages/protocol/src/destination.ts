// Destinations: what a dial, a transfer, a queue's overflow or an IVR option names — a user, extension, queue, IVR or phone
// number, or an AI agent as `agent:<key>`.
import { Type } from '@sinclair/typebox';

/** An agent's internal key (`akylai`): lower case, then letters, digits, `_` or `-`. */
export const AGENT_KEY_PATTERN = '[a-z][a-z0-9_-]{0,63}';

export const destinationSchema = (maxLength = 128) =>
  Type.String({ minLength: 1, maxLength, pattern: `^([A-Za-z0-9_.@+*#-]+|agent:${AGENT_KEY_PATTERN})$` });
