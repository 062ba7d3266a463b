// Schema validation for routes: bodies are strict (no coercion, no silent stripping); query/params coerce text to types.
import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

const common: Options = { allErrors: false, useDefaults: true, strict: false };

export function useStrictValidation(app: FastifyInstance): void {
  // Formats (uuid, uri, date-time) are checked, not ignored: a schema's `format` means what it says.
  const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false, removeAdditional: false }));
  const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false }));
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}
