// Where a command-line tool (key creation, the seed loader) finds the database: MONGODB_URI when set; otherwise
// the embedded database of a running service (on EMBEDDED_DB_PORT); otherwise it starts the embedded database
// on DATA_DIR for as long as it runs.
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config.js';
import { embeddedUri, startEmbeddedDb } from './db/embedded-db.js';

interface CommandDatabase {
  uri: string;
  /** Which database this is, in words, for the command to say where it works. */
  where: string;
  /** Stops the embedded database if this command started it. */
  release(): Promise<void>;
}

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

/** `log` hears what starting the embedded database does (its first build takes minutes). */
export async function commandDatabase(config: Config, log?: (msg: string) => void): Promise<CommandDatabase> {
  if (config.mongodbUri) return { uri: config.mongodbUri, where: 'the server MONGODB_URI names', release: async () => {} };
  if (await portOpen(config.embeddedDbPort)) {
    return { uri: embeddedUri(config.embeddedDbPort), where: `the running service's embedded database (port ${config.embeddedDbPort})`, release: async () => {} };
  }
  const dataDir = path.join(config.dataDir, 'ferretdb');
  const embedded = await startEmbeddedDb({ dataDir, port: config.embeddedDbPort, ...(log ? { log } : {}) });
  return { uri: embedded.uri, where: `the embedded database in ${dataDir} (started for this command)`, release: () => embedded.stop() };
}
