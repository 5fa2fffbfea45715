// The body of a CSV upload route (POST /users/import, POST /groups/{id}/members/import): text/csv only (another type
// is a 415), UTF-8, at most 3 MB (larger is a 413 problem document, from the error handler). The API's JSON parser
// leaves text/csv alone, so these go on the upload routes only.
import express, { type RequestHandler } from 'express';
import { requireUtf8 } from './body-encoding.js';
import { UnsupportedMediaTypeError } from './errors.js';

const CSV_LIMIT = '3mb';

/** Parses a text/csv body into a string (req.body) of at most CSV_LIMIT. */
export const csvText: RequestHandler = express.text({ type: 'text/csv', limit: CSV_LIMIT, verify: requireUtf8 });

/** Refuses any other content type, saying what to send (`what`: "the users", "the members"). */
export function csvOnly(what: string): RequestHandler {
  return (req, _res, next) => {
    if (!/^text\/csv\b/i.test(req.headers['content-type'] ?? '')) throw new UnsupportedMediaTypeError(`Send ${what} as text/csv.`);
    next();
  };
}
