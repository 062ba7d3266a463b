// The single error mapper for the REST API: every failure leaves as `{code, message}` with the right status.
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../util/errors.js';

export const errorMapper = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // An error body is JSON whatever the route had set before failing (a WAV download that broke off, say).
    reply.type('application/json; charset=utf-8');
    if (err instanceof AppError) return reply.status(err.status).send(err.toBody());
    if (err.validation) {
      const first = err.validation[0];
      const params = first?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
      const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : (params?.missingProperty ?? params?.additionalProperty);
      const where = err.validationContext ?? 'request';
      const message = field ? `${where}.${field}: ${first?.message ?? 'is invalid'}` : `${where}: ${err.message.replace(/^(body|querystring|params|headers) /, '')}`;
      return reply.status(400).send({ code: 'bad_request', message });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = status === 413 || status === 415 ? 'bad_request' : status === 404 ? 'not_found' : 'bad_request';
      return reply.status(status).send({ code, message: err.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'internal', message: 'Internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
});
