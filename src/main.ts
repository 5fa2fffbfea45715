// Process entry: load config, start, and turn SIGTERM/SIGINT into a clean stop. The only process.exit.
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './platform/logger.js';
import { start } from './lifecycle.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Autogroups cannot start: ${err.problems.join('; ')}`);
    process.exit(2);
  }
  throw err;
}

const logger = createLogger(config.logLevel, { role: config.role });
process.on('unhandledRejection', (err) => {
  logger.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

try {
  const service = await start(config, logger);
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping');
    const hardStop = setTimeout(() => {
      logger.error('stop took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 1500);
    hardStop.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.fatal({ err }, 'start failed');
  process.exit(1);
}
