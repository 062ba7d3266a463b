// `npm start`: loads the configuration, starts the server and stops it cleanly on SIGINT/SIGTERM.
import { createServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await createServer(config);
  const port = await server.listen();
  server.app.log.info(`Astral is listening on http://localhost:${port} (demo: ${config.demo ? `http://localhost:${port}/` : 'off'})`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
