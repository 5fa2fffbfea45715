// Which database server the directory talks to. MongoDB and the embedded FerretDB v1 answer the same queries
// at very different costs (see FERRETDB.md): the few places where the best query differs ask here.
import mongoose from 'mongoose';

let known: { db: unknown; embedded: Promise<boolean> } | undefined;

/** True on FerretDB. Asked once per connection. */
export function isEmbeddedDatabase(): Promise<boolean> {
  const db = mongoose.connection.db;
  if (!db) return Promise.reject(new Error('database not connected'));
  if (known?.db !== db) {
    const embedded = db
      .admin()
      .command({ buildInfo: 1 })
      .then((info) => typeof info.ferretdbVersion === 'string');
    embedded.catch(() => {
      if (known?.embedded === embedded) known = undefined;
    });
    known = { db, embedded };
  }
  return known.embedded;
}
