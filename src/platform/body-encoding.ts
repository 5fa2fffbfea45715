// The check every request body gets on its raw bytes, after any Content-Encoding is undone and before any text
// is decoded: decoding would silently turn bytes that are not UTF-8 into U+FFFD, and that text would be stored.
// It is body-parser's `verify` hook, so a refusal reaches the error translator with a `type` of its own.
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { BODY_NOT_UTF8 } from './errors.js';

const UTF8 = new Set(['utf-8', 'utf8']);

function parserError(message: string, type: string): Error {
  return Object.assign(new Error(message), { type });
}

/** body-parser `verify`: the body must be UTF-8, declared so or undeclared. */
export function requireUtf8(_req: IncomingMessage, _res: unknown, body: Buffer, charset: string | null): void {
  if (charset && !UTF8.has(charset.toLowerCase())) throw parserError(`unsupported charset "${charset}"`, 'charset.unsupported');
  if (!isUtf8(body)) throw parserError('The request body is not valid UTF-8.', BODY_NOT_UTF8);
}
