// Admin contract for routing targets: queues (members + strategy) and IVR menus (prompt + digit choices).
import { Type, type Static } from '@sinclair/typebox';
import { destinationSchema } from './destination.js';

const Number_ = Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9*#+]+$' });
const Destination = destinationSchema(70);

export const QueueStrategies = ['ring-all', 'round-robin', 'longest-idle'] as const;

export const CreateQueueBody = Type.Object(
  {
    number: Number_,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    strategy: Type.Union(QueueStrategies.map((s) => Type.Literal(s))),
    /** Member extensions, in order (round-robin follows it). */
    members: Type.Array(Number_, { minItems: 1, maxItems: 100, uniqueItems: true }),
    /** Seconds each ring attempt lasts (ring-all: the whole attempt). */
    ring_timeout: Type.Optional(Type.Integer({ minimum: 5, maximum: 300 })),
    /** Where the call goes when nobody answers (extension, queue or IVR number). */
    overflow: Type.Optional(Destination),
    /** Record calls answered through this queue (default true). */
    record: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateQueueBody = Static<typeof CreateQueueBody>;

export const QueueResponse = Type.Object({
  id: Type.String(),
  number: Type.String(),
  name: Type.String(),
  strategy: Type.String(),
  members: Type.Array(Type.String()),
  ring_timeout: Type.Integer(),
  overflow: Type.Union([Type.String(), Type.Null()]),
  record: Type.Boolean(),
});

export const CreateIvrBody = Type.Object(
  {
    number: Number_,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    /** The prompt, a WAV file (any rate, 8/16-bit PCM), base64-encoded. */
    prompt_wav: Type.String({ minLength: 8, maxLength: 4_000_000 }),
    /** Digit (0-9, *, #) → destination. */
    options: Type.Record(Type.String({ pattern: '^[0-9*#]$' }), Destination, { minProperties: 1 }),
  },
  { additionalProperties: false },
);
export type CreateIvrBody = Static<typeof CreateIvrBody>;

export const IvrResponse = Type.Object({
  id: Type.String(),
  number: Type.String(),
  name: Type.String(),
  options: Type.Record(Type.String(), Type.String()),
  prompt_seconds: Type.Number(),
});
