// AppError: the one error type call control, auth and stores throw; mapped to HTTP/ack bodies at the edge.
import { HttpStatusOf, type ErrorBody, type ErrorCode } from '@astral/protocol';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return HttpStatusOf[this.code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** Turns anything thrown into a safe error body; unknown errors never leak their message. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) return err.toBody();
  return { code: 'internal', message: 'Internal error' };
}
