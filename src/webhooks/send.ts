// One HTTP attempt at a delivery, as the Standard Webhooks specification describes it: a POST of the JSON payload
// with `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` per secret,
// separated by spaces, so that a receiver holding either secret of a rotation verifies it). Signatures come from
// the specification's reference library (`standardwebhooks`), the one receivers verify with.
//
// Node's own http/https client, not fetch: it takes the connection's `lookup`, which refuses a host resolving to a
// private address at the moment of connecting (target-address.ts), and it follows no redirect (a 3xx is a
// failure). Any 2xx answered within the timeout is delivered.
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { checkTarget, checkedLookup } from './target-address.js';

// Connections are kept open between deliveries (the receiver is usually the same few hosts): a new connection per
// event, with its TLS handshake, cost more than the request itself. A kept connection was made to a checked address.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/** The whole attempt (connection, request, answer) is bounded by this. */
const DELIVERY_TIMEOUT_MS = 10_000;

export interface SendResult {
  ok: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

/** The `webhook-signature` header: one signature per secret. */
export function signatures(secrets: readonly string[], id: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
}

export async function send(opts: { url: string; secrets: readonly string[]; id: string; body: string; at: Date; allowPrivate: boolean }): Promise<SendResult> {
  const started = Date.now();
  const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({ ...r, durationMs: Date.now() - started });
  try {
    await checkTarget(opts.url, opts.allowPrivate);
  } catch (err) {
    return done({ ok: false, error: `refused target: ${(err as Error).message}` });
  }
  const url = new URL(opts.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup: checkedLookup(opts.allowPrivate),
        agent: agents[url.protocol as 'http:' | 'https:'],
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Autogroups-Webhooks/1',
          'webhook-id': opts.id,
          'webhook-timestamp': String(Math.floor(opts.at.getTime() / 1000)),
          'webhook-signature': signatures(opts.secrets, opts.id, opts.at, opts.body),
        },
      },
      (res) => {
        // The answer's body is not read for anything: drained so that the socket closes.
        res.resume();
        res.on('end', () => finish({ ok: res.statusCode! >= 200 && res.statusCode! < 300, statusCode: res.statusCode! }));
        res.on('error', (err) => finish({ ok: false, statusCode: res.statusCode!, error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` });
      req.destroy();
    }, DELIVERY_TIMEOUT_MS);
    req.on('error', (err) => finish({ ok: false, error: err.message }));
    req.end(opts.body);
  });
}
