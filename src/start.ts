/** What `npm start` runs once the compile cache is on (./main.ts): load config once, start the server, stop gracefully on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config/config.ts';
import { createLogger } from './logger.ts';
import { runSandbox } from './sandbox/index.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dripline: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let running: { stop(): Promise<void> };
  if (config.sandbox) {
    running = await runSandbox(config, logger);
    logger.info(
      { tenant: 'sandbox' },
      'sandbox mode: register a client with `npm run cli -- client create --tenant sandbox --scope "system/*.cruds"`',
    );
  } else {
    if (config.tenants.length === 0) {
      logger.warn(
        'no tenants configured: name a config file in DRIPLINE_CONFIG (see the README), or set SANDBOX=true to try the sandbox',
      );
    }
    running = await startServer(config, logger);
  }
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`dripline: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
