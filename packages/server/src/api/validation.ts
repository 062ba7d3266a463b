// Schema validation for routes: bodies are strict (no coercion, no silent stripping); query/params coerce text to types.
import Ajv, { type Options } from 'ajv';
import type { FastifyInstance } from 'fastify';

const common: Options = { allErrors: false, useDefaults: true, strict: false };

export function useStrictValidation(app: FastifyInstance): void {
  const strict = new Ajv({ ...common, coerceTypes: false, removeAdditional: false });
  const coercing = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}
