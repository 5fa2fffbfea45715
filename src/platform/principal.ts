// Who is calling: the API key behind a request, whether it came as a bearer key or through a session. Its own
// module so that auth.ts and the sessions it resolves can both name it without importing each other.
import type { Role } from './roles.js';

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}
