// `npm run devdb:build`: build the embedded database now (it is otherwise built on first use).
import { ensureDevdbBinary, DEVDB_BINARY } from '../src/platform/embedded-db.js';

const started = Date.now();
const built = await ensureDevdbBinary((msg) => console.log(msg));
console.log(built ? `built ${DEVDB_BINARY} in ${((Date.now() - started) / 1000).toFixed(1)} s` : `${DEVDB_BINARY} is up to date`);
