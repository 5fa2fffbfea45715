// `npm run devdb:build`: build the embedded database now (it is otherwise built on first use).
import { ensureDevdbBinary, DEVDB_BINARY } from '../src/platform/db/embedded-db.js';

const built = await ensureDevdbBinary((msg) => console.log(msg));
console.log(built ? `wrote ${DEVDB_BINARY}` : `${DEVDB_BINARY} is up to date`);
