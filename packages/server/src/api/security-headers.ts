// Security headers on every response (@fastify/helmet): a CSP the demo and dashboard pages satisfy, no framing or sniffing.
import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/** `connectOrigins`: origins pages fetch besides this server (the regions' latency endpoints). */
export const securityHeaders = fp<{ connectOrigins: string[] }>(async (app, { connectOrigins }) => {
  await app.register(helmet, {
    contentSecurityPolicy: {
      // Helmet's defaults would add upgrade-insecure-requests, which breaks the demo on plain http://localhost.
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The widget's components set element styles (Lit's styleMap); no script runs from a style.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...connectOrigins],
        // The dashboard plays recordings from blob: URLs.
        mediaSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Customer sites load the widget bundle from this server: a same-origin resource policy would block it.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    // Browsers heed it over https only (behind a TLS proxy); subdomains are the operator's to decide.
    strictTransportSecurity: { maxAge: 180 * 24 * 3600, includeSubDomains: false },
  });
});
