// Where a command-line tool (key creation, the seed loader) finds the database: MONGODB_URI when set; otherwise
// the embedded database of a running service (on EMBEDDED_DB_PORT); otherwise it starts the embedded database
// on DATA_DIR for as long as it runs.
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config.js';
import { embeddedUri, startEmbeddedDb } from './embedded-db.js';

export interface CommandDatabase {
  uri: string;
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

export async function commandDatabase(config: Config): Promise<CommandDatabase> {
  if (config.mongodbUri) return { uri: config.mongodbUri, release: async () => {} };
  if (await portOpen(config.embeddedDbPort)) {
    return { uri: embeddedUri(config.embeddedDbPort), release: async () => {} };
  }
  const embedded = await startEmbeddedDb({ dataDir: path.join(config.dataDir, 'ferretdb'), port: config.embeddedDbPort });
  return { uri: embedded.uri, release: () => embedded.stop() };
}
