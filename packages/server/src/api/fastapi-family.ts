// The instance and service API family (`/v1`, seeds 003 and 004): FastAPI-shaped errors and instance-key authentication.
// Routes of this family register inside `serviceFamily(app, ...)`, so its error mapper applies to them alone.
import type { Permission } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { hasPermission, type ApiKeyService } from '../auth/api-keys.js';
import type { ApiKeyInfo } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';

/** One entry of FastAPI's validation `detail`: where (`["path","instance_id"]`), what, and a pydantic error type. */
export interface FieldProblem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A request that is well-formed JSON but unprocessable (422), reported field by field as FastAPI does. */
export class UnprocessableError extends Error {
  constructor(readonly detail: FieldProblem[]) {
    super(detail.map((d) => `${d.loc.join('.')}: ${d.msg}`).join('; '));
    this.name = 'UnprocessableError';
  }

  static field(loc: (string | number)[], msg: string, type = 'value_error'): UnprocessableError {
    return new UnprocessableError([{ loc, msg, type }]);
  }
}

interface AjvIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const PART: Record<string, string> = { body: 'body', params: 'path', querystring: 'query', headers: 'header' };

/** pydantic's wording and type for an Ajv failure, so clients written against FastAPI read our errors unchanged. */
function problemOf(issue: AjvIssue, part: string): FieldProblem {
  const path = issue.instancePath.split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const loc = [part, ...path];
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return { loc: [...loc, String(p.missingProperty)], msg: 'Field required', type: 'missing' };
    case 'additionalProperties':
      return { loc: [...loc, String(p.additionalProperty)], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
    case 'format':
      if (p.format === 'uuid') return { loc, msg: 'Input should be a valid UUID', type: 'uuid_parsing' };
      if (p.format === 'uri') return { loc, msg: 'Input should be a valid URL', type: 'url_parsing' };
      return { loc, msg: `Input should be a valid ${String(p.format)}`, type: 'value_error' };
    case 'type': {
      const t = String(p.type);
      const names: Record<string, [string, string]> = {
        string: ['a valid string', 'string_type'],
        integer: ['a valid integer', 'int_type'],
        number: ['a valid number', 'float_type'],
        boolean: ['a valid boolean', 'bool_type'],
        object: ['a valid dictionary', 'dict_type'],
        array: ['a valid list', 'list_type'],
      };
      const [what, type] = names[t] ?? [`of type ${t}`, 'type_error'];
      return { loc, msg: `Input should be ${what}`, type };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => `'${String(v)}'`);
      const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : allowed.join('');
      return { loc, msg: `Input should be ${list}`, type: 'literal_error' };
    }
    case 'const':
      return { loc, msg: `Input should be '${String(p.allowedValue)}'`, type: 'literal_error' };
    case 'minLength':
      return { loc, msg: `String should have at least ${String(p.limit)} character${p.limit === 1 ? '' : 's'}`, type: 'string_too_short' };
    case 'maxLength':
      return { loc, msg: `String should have at most ${String(p.limit)} characters`, type: 'string_too_long' };
    case 'pattern':
      return { loc, msg: `String should match pattern '${String(p.pattern)}'`, type: 'string_pattern_mismatch' };
    case 'minimum':
      return { loc, msg: `Input should be greater than or equal to ${String(p.limit)}`, type: 'greater_than_equal' };
    case 'maximum':
      return { loc, msg: `Input should be less than or equal to ${String(p.limit)}`, type: 'less_than_equal' };
    case 'minItems':
      return { loc, msg: `List should have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`, type: 'too_short' };
    case 'maxItems':
      return { loc, msg: `List should have at most ${String(p.limit)} items`, type: 'too_long' };
    default:
      return { loc, msg: issue.message ?? 'Input is invalid', type: 'value_error' };
  }
}

/** The family's only error mapper: 422 `{detail:[...]}` for bad input, `{detail:"..."}` (HTTPException) otherwise. */
function mapErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    reply.type('application/json; charset=utf-8');
    if (err instanceof UnprocessableError) return reply.status(422).send({ detail: err.detail });
    if (err.validation) {
      const part = PART[err.validationContext ?? 'body'] ?? 'body';
      return reply.status(422).send({ detail: (err.validation as AjvIssue[]).map((issue) => problemOf(issue, part)) });
    }
    if (err instanceof AppError) {
      if (err.code === 'bad_request') return reply.status(422).send({ detail: [{ loc: ['body'], msg: err.message, type: 'value_error' }] });
      const headers = err.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
      return reply.status(err.status).headers(headers).send({ detail: err.message });
    }
    const status = err.statusCode ?? 500;
    if (status === 400 && /JSON/i.test(err.message)) {
      return reply.status(422).send({ detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] });
    }
    if (status >= 400 && status < 500) return reply.status(status).send({ detail: err.message });
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ detail: 'Internal Server Error' });
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The instance a `/v1` request acts on: its path's `instance_id`, else its key's instance. */
    actingInstanceId?: string;
  }
}

export interface ServiceAuth {
  keys: ApiKeyService;
  /** The default instance: its admin keys are platform admin keys, valid for every instance. */
  platformInstanceId: string;
  /** Whether an instance exists (unknown ones answer 404). */
  instanceExists(id: string): Promise<boolean>;
}

/** The API key of a `/v1` request: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct) return direct;
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

export const isPlatformAdmin = (key: ApiKeyInfo, auth: ServiceAuth): boolean =>
  key.instanceId === auth.platformInstanceId && key.permissions.includes('admin');

/**
 * Authenticates (401) before validation, then, once the path is valid, checks the key may act on the path's instance:
 * an unknown instance, or another instance's, answers 404 (a key never learns that another instance exists).
 */
export function requireServiceKey(auth: ServiceAuth, permission: Permission) {
  return {
    preValidation: async (request: FastifyRequest): Promise<void> => {
      const key = await auth.keys.authenticate(presentedKey(request));
      if (!hasPermission(key, permission)) throw new AppError('forbidden', `this API key lacks the "${permission}" permission`);
      request.apiKey = key;
    },
    preHandler: async (request: FastifyRequest): Promise<void> => {
      const key = request.apiKey!;
      const pathInstance = (request.params as { instance_id?: string } | undefined)?.instance_id;
      if (pathInstance === undefined) {
        request.actingInstanceId = key.instanceId;
        return;
      }
      const allowed = pathInstance === key.instanceId || isPlatformAdmin(key, auth);
      if (!allowed || !(await auth.instanceExists(pathInstance))) throw new AppError('not_found', 'Instance not found');
      request.actingInstanceId = pathInstance;
    },
  };
}

/** Registers `/v1` routes in their own encapsulated context with the family's error mapper. */
export async function serviceFamily(app: FastifyInstance, routes: (scoped: FastifyInstance) => Promise<void> | void): Promise<void> {
  await app.register(async (scoped) => {
    mapErrors(scoped);
    await routes(scoped);
  });
}

/** The JSON schema of a path's `instance_id` (a UUID, as seed 003 declares it). */
export const InstanceIdParams = {
  type: 'object',
  required: ['instance_id'],
  properties: { instance_id: { type: 'string', format: 'uuid' } },
} as const;

/** A string that is one of `values`, as one `enum` schema, so a wrong value is one pydantic `literal_error`. */
export const StringEnum = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
