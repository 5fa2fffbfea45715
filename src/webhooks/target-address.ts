// Where a webhook may be sent. A subscription's URL is chosen by an admin, but the service sends from inside the
// network: a URL naming (or resolving to) a loopback, private, link-local or cloud-metadata address would let it
// reach what only the inside should (server-side request forgery). So a URL must be `https:` and every address its
// host resolves to must be public unicast, checked at creation and again at each delivery, since DNS can change.
// Deliveries connect to the address that was checked (the lookup below is the connection's), so a name that
// resolves elsewhere between the check and the connection cannot slip through. WEBHOOKS_ALLOW_PRIVATE_TARGETS=true
// (development, tests) lifts both rules.
//
// ipaddr.js classifies addresses: only its `unicast` range (public) is allowed, which leaves out loopback, private
// (10/8, 172.16/12, 192.168/16), link-local (169.254/16 with the metadata address 169.254.169.254, fe80::/10),
// carrier-grade NAT (100.64/10, with Alibaba's metadata 100.100.100.200), unique-local IPv6 (fc00::/7, with AWS's
// fd00:ec2::254), unspecified, multicast, broadcast and reserved ranges. An IPv4-mapped IPv6 address is judged as
// the IPv4 address it carries.
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export class TargetRefusedError extends Error {}

/** Why an address may not be a webhook target, or undefined when it may. */
export function refusedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${address} is a ${range} address`;
}

/** The URL's problem as a message for its `url` field, or undefined when it is acceptable (without resolving it). */
export function urlProblem(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (parsed.protocol !== 'https:' && !(allowPrivate && parsed.protocol === 'http:')) return allowPrivate ? 'must be an https: or http: URL' : 'must be an https: URL';
  if (parsed.username || parsed.password) return 'must not carry credentials';
  return undefined;
}

/** The hostname as an IP literal (IPv6 without brackets), or undefined when it is a DNS name. */
function literal(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : undefined;
}

/** Every address `hostname` stands for (itself when a literal). */
async function addressesOf(hostname: string): Promise<string[]> {
  const lit = literal(hostname);
  if (lit) return [lit];
  const found = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/**
 * Throws TargetRefusedError (message for the `url` field) unless the URL may be a target: its form, and, unless
 * private targets are allowed, every address its host resolves to.
 */
export async function checkTarget(url: string, allowPrivate: boolean): Promise<void> {
  const problem = urlProblem(url, allowPrivate);
  if (problem) throw new TargetRefusedError(problem);
  if (allowPrivate) return;
  const { hostname } = new URL(url);
  let addresses: string[];
  try {
    addresses = await addressesOf(hostname);
  } catch {
    throw new TargetRefusedError(`its host ${hostname} does not resolve`);
  }
  for (const a of addresses) {
    const why = refusedAddress(a);
    if (why) throw new TargetRefusedError(`resolves to a private, loopback, link-local or metadata address (${why})`);
  }
}

/**
 * The lookup a delivery's connection uses: resolves like the system, then refuses the connection when any address
 * is not a permitted target, so that the address connected to is one that was checked.
 */
export function checkedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as unknown as dns.LookupAddress[];
      const refused = allowPrivate ? undefined : list.map((a) => refusedAddress(a.address)).find((w) => w !== undefined);
      if (refused) return callback(new TargetRefusedError(`refused target: ${refused}`), '', 4);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 4);
      callback(null, first.address, first.family);
    });
  };
}
