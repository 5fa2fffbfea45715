// Command line: `npm run keys:create -- --name "ops" --role admin` creates an API key and prints it once.
// It uses MONGODB_URI when set; otherwise the embedded database of a running service (EMBEDDED_DB_PORT), or,
// if none is running, starts the embedded database on DATA_DIR for the moment it needs.
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { connectDatabase } from './platform/database.js';
import { startEmbeddedDb, type EmbeddedDb } from './platform/embedded-db.js';
import { ROLES, type Role } from './platform/roles.js';
import { createApiKey } from './keys/api-keys.service.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function main(): Promise<number> {
  const [group, command, ...rest] = process.argv.slice(2);
  if (group !== 'keys' || command !== 'create') {
    console.error('usage: cli keys create --name <name> --role <admin|support|hr-feed|viewer|integration>');
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, role: { type: 'string', default: 'admin' } } });
  if (!values.name || !ROLES.includes(values.role as Role)) {
    console.error(`--name is required and --role must be one of ${ROLES.join(', ')}`);
    return 2;
  }
  const config = loadConfig();
  let embedded: EmbeddedDb | undefined;
  let uri = config.mongodbUri;
  if (!uri) {
    if (await portOpen(config.embeddedDbPort)) {
      uri = `mongodb://127.0.0.1:${config.embeddedDbPort}/`;
    } else {
      embedded = await startEmbeddedDb({ dataDir: path.join(config.dataDir, 'ferretdb'), port: config.embeddedDbPort });
      uri = embedded.uri;
    }
  }
  const database = await connectDatabase(uri, config.databaseName);
  try {
    const key = await createApiKey(values.name, values.role as Role);
    console.log(`Created ${key.role} key "${key.name}" (${key.id}). It is shown only this once:\n${key.key}`);
    return 0;
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? `invalid configuration: ${err.problems.join('; ')}` : err);
    process.exit(1);
  },
);
