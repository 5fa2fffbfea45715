// What a directory write takes besides its input (who writes, where to log), as the directory's own write
// functions declare it: named through putUser so SCIM follows the directory wherever the type lives.
import type { putUser } from '../directory/users.service.js';

export type WriteContext = Parameters<typeof putUser>[2];
