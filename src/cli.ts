// Command line: `npm run keys:create -- --name "ops" --role admin` creates an API key and prints it once.
// It uses MONGODB_URI when set; otherwise the embedded database of a running service (EMBEDDED_DB_PORT), or,
// if none is running, starts the embedded database on DATA_DIR for the moment it needs.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { connectDatabase } from './platform/db/connection.js';
import { commandDatabase } from './platform/command-database.js';
import { ROLES, type Role } from './platform/roles.js';
import { createApiKey } from './keys/api-keys.service.js';

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
  const target = await commandDatabase(config);
  const database = await connectDatabase(target.uri, config.databaseName);
  try {
    const key = await createApiKey(values.name, values.role as Role);
    console.log(`Created ${key.role} key "${key.name}" (${key.id}). It is shown only this once:\n${key.key}`);
    return 0;
  } finally {
    await database.close();
    await target.release();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? `invalid configuration: ${err.problems.join('; ')}` : err);
    process.exit(1);
  },
);
