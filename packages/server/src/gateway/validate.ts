// Compiled TypeBox validators for every client → server socket event payload.
import { ClientPayloads, type ClientEventName, type ClientPayload } from '@astral/protocol';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { AppError } from '../util/errors.js';

const checks = Object.fromEntries(
  Object.entries(ClientPayloads).map(([name, schema]) => [name, TypeCompiler.Compile(schema)]),
) as { [E in ClientEventName]: TypeCheck<(typeof ClientPayloads)[E]> };

export function parsePayload<E extends ClientEventName>(event: E, payload: unknown): ClientPayload<E> {
  const check = checks[event];
  if (check.Check(payload)) return payload as ClientPayload<E>;
  const first = check.Errors(payload).First();
  const where = first?.path ? ` at ${first.path}` : '';
  throw new AppError('bad_request', `invalid ${event} payload${where}: ${first?.message ?? 'expected an object'}`);
}
