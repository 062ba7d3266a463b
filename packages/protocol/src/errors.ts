// Machine-readable error codes shared by REST bodies, socket acks and widget `astral-error` events.
import { Type, type Static } from '@sinclair/typebox';

export const ErrorCodes = [
  'bad_request',
  'unauthorized',
  'token_expired',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unavailable',
  'invalid_state',
  'media_error',
  'internal',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

/** The `{code, message}` body every Astral REST error and failed socket ack carries. */
export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** HTTP status for each error code, used by the server's single error mapper. */
export const HttpStatusOf: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  token_expired: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  invalid_state: 409,
  media_error: 500,
  internal: 500,
};
