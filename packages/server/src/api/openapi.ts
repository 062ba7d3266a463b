// The OpenAPI 3.1 document (/openapi.json) and interactive docs (/docs), generated from the routes' own schemas.
// Registered before the route plugins: @fastify/swagger collects every route as it is added. Each family's error
// shape and auth scheme are added here, once, rather than repeated on every route.
import { ErrorBody } from '@astral/protocol';
import swagger, { type SwaggerOptions, type SwaggerTransform } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** FastAPI's error bodies, as the `/v1` family answers them. */
const ValidationError = Type.Object({ loc: Type.Array(Type.Union([Type.String(), Type.Integer()])), msg: Type.String(), type: Type.String() });
const HTTPValidationError = Type.Object({ detail: Type.Array(ValidationError) }, { title: 'HTTPValidationError' });
const HTTPException = Type.Object({ detail: Type.String() }, { title: 'HTTPException' });

type Security = Record<string, string[]>[];

interface Family {
  tag: string;
  security?: Security;
  errors: Record<string, unknown>;
}

/** Which family a path belongs to: its tag, how it authenticates and how it fails. */
function familyOf(url: string): Family | null {
  if (url === '/v1/webhooks/call-completed') return { tag: 'service', security: [], errors: { 422: HTTPValidationError, '4xx': HTTPException } };
  if (url.startsWith('/v1/')) return { tag: 'service', security: [{ ApiKey: [] }, { Bearer: [] }], errors: { 422: HTTPValidationError, '4xx': HTTPException } };
  if (url.startsWith('/api/v1/channels')) return { tag: 'channels', security: [{ Bot: [] }, { Bearer: [] }], errors: { '4xx': ErrorBody } };
  if (url.startsWith('/api/v1/')) return { tag: url.split('/')[3]!, security: [{ ApiKey: [] }], errors: { '4xx': ErrorBody } };
  return null;
}

const transform: SwaggerTransform = ({ schema, url }) => {
  // The demo's token and dashboard-proxy routes are a local convenience, not part of the API.
  if (url.startsWith('/demo/') || url === '/demo') return { schema: { ...schema, hide: true }, url };
  const family = familyOf(url);
  if (!family) return { schema: { tags: ['operations'], ...schema }, url };
  const response = { ...family.errors, ...(schema?.response as object | undefined) };
  return { schema: { tags: [family.tag], ...schema, response, ...(family.security ? { security: family.security } : {}) }, url };
};

export const openApi = fp(async (app: FastifyInstance) => {
  const options: SwaggerOptions = {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Astral',
        version,
        description:
          'Self-hosted in-browser calling. `/api/v1` answers errors as `{code, message}`; the `/v1` family answers them as FastAPI does ' +
          '(`{detail}`, and 422 `HTTPValidationError` for invalid input).',
      },
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`ak_...`) with the permission the route needs.' },
          Bearer: { type: 'http', scheme: 'bearer', description: 'A widget token on `/api/v1/channels`; an instance API key on `/v1`.' },
          Bot: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Bot <token>`: a bot created with POST /api/v1/bots.' },
        },
      },
    },
    transform,
  };
  await app.register(swagger, options);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
});
