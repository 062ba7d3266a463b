// `npm start`: loads the configuration, starts the server and shuts it down gracefully on SIGTERM (at once on SIGINT).
import { createServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await createServer(config);
  const port = await server.listen();
  server.app.log.info(`Astral is listening on http://localhost:${port} (demo: ${config.demo ? `http://localhost:${port}/` : 'off'})`);
  let stopping = false;
  // SIGTERM (docker stop, systemd, Kubernetes) lets live calls finish for ASTRAL_DRAIN_SECONDS; SIGINT (Ctrl-C) ends them now.
  const drainMs = { SIGTERM: config.drainSeconds * 1000, SIGINT: 0 };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server.drain(drainMs[signal]).then(() => server.close()).then(
        () => process.exit(0),
        (err: unknown) => {
          server.app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
