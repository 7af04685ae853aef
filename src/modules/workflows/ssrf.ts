import { lookup as dnsLookupAll } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { DnsLookup, ResolvedAddress } from './workflow-deps.ts';

/**
 * The guard that keeps http_request nodes — whose URLs come from whoever edits a workflow, and
 * from chat users through variables — away from the server's own network: loopback, private
 * ranges, link-local (where cloud metadata services live), and the IPv6 forms that embed an IPv4
 * address (`::ffff:127.0.0.1`, NAT64, 6to4). A host name is resolved and *every* address it
 * resolves to must be allowed; the built-in client then connects only to those checked addresses
 * (its DNS lookup is this guard), so a name cannot resolve differently between check and connect.
 *
 * `allowPrivateNetwork` opens private, loopback and unique-local ranges for self-hosted intranets.
 * Link-local ranges (169.254.0.0/16, fe80::/10) and known metadata addresses stay closed even then:
 * they hold instance credentials (EC2, ECS task roles). `allowedNetworks` opens exact CIDRs, for
 * those too if really needed.
 */

export interface NetworkPolicy {
  allowPrivateNetwork: boolean;
  allowedNetworks: readonly string[];
}

export class BlockedAddressError extends Error {
  readonly code = 'http_blocked';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedAddressError';
  }
}

interface Range {
  bytes: Uint8Array;
  prefix: number;
  reason: string;
  /** Opened by `allowPrivateNetwork`. */
  privateNetwork: boolean;
}

const range = (cidr: string, reason: string, privateNetwork: boolean): Range => {
  const [address, prefix] = cidr.split('/') as [string, string];
  const bytes = parseIp(address);
  if (!bytes) throw new Error(`Bad range ${cidr}`);
  return { bytes, prefix: Number(prefix), reason, privateNetwork };
};

const V4_RANGES: Range[] = [
  range('169.254.0.0/16', 'link-local (cloud metadata)', false),
  range('0.0.0.0/8', '"this network"', true),
  range('10.0.0.0/8', 'private', true),
  range('100.64.0.0/10', 'shared address space (carrier NAT)', true),
  range('127.0.0.0/8', 'loopback', true),
  range('172.16.0.0/12', 'private', true),
  range('192.0.0.0/24', 'IETF protocol assignments', true),
  range('192.0.2.0/24', 'documentation', true),
  range('192.88.99.0/24', '6to4 relay', true),
  range('192.168.0.0/16', 'private', true),
  range('198.18.0.0/15', 'benchmarking', true),
  range('198.51.100.0/24', 'documentation', true),
  range('203.0.113.0/24', 'documentation', true),
  range('224.0.0.0/4', 'multicast', false),
  range('240.0.0.0/4', 'reserved', false),
];

const V6_RANGES: Range[] = [
  range('fd00:ec2::254/128', 'cloud metadata', false),
  range('fe80::/10', 'link-local', false),
  range('::/128', 'unspecified', true),
  range('::1/128', 'loopback', true),
  range('64:ff9b:1::/48', 'local NAT64', true),
  range('100::/64', 'discard-only', true),
  range('2001::/32', 'Teredo tunnel', false),
  range('2001:db8::/32', 'documentation', true),
  range('fc00::/7', 'unique local (private)', true),
  range('fec0::/10', 'site-local', true),
  range('ff00::/8', 'multicast', false),
];

/** Where an IPv6 address carries an IPv4 address that decides where packets really go. */
const EMBEDDED_V4: Array<{ prefix: Range; offset: number }> = [
  { prefix: range('::ffff:0:0/96', 'IPv4-mapped', true), offset: 12 },
  { prefix: range('::/96', 'IPv4-compatible', true), offset: 12 },
  { prefix: range('64:ff9b::/96', 'NAT64', true), offset: 12 },
  { prefix: range('2002::/16', '6to4', true), offset: 2 },
];

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address, or undefined when `text` is not one. */
export function parseIp(text: string): Uint8Array | undefined {
  const address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(address);
  if (kind === 4) return Uint8Array.from(address.split('.').map(Number));
  if (kind !== 6) return undefined;
  let head = address;
  let v4: Uint8Array | undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    v4 = parseIp(dotted[1] as string);
    head = `${address.slice(0, dotted.index)}0:0`;
  }
  const [left, right] = head.includes('::') ? (head.split('::') as [string, string]) : [head, undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const words = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  if (v4) bytes.set(v4, 12);
  return bytes;
}

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] as number) & mask) !== ((r.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/**
 * Why `address` is not a public address (e.g. "loopback"), or undefined for a public one. IPv6
 * forms that embed IPv4 are judged by the embedded address.
 */
export function classifyAddress(address: string): { reason: string; privateNetwork: boolean } | undefined {
  const bytes = parseIp(address);
  if (!bytes) return { reason: 'not an IP address', privateNetwork: false };
  return classifyBytes(bytes);
}

function classifyBytes(bytes: Uint8Array): { reason: string; privateNetwork: boolean } | undefined {
  if (bytes.length === 4) return V4_RANGES.find((r) => inRange(bytes, r));
  const direct = V6_RANGES.find((r) => inRange(bytes, r));
  if (direct) return direct;
  for (const { prefix, offset } of EMBEDDED_V4) {
    if (inRange(bytes, prefix)) {
      const inner = classifyBytes(bytes.slice(offset, offset + 4));
      return inner
        ? { reason: `${inner.reason}, as ${prefix.reason} IPv6`, privateNetwork: inner.privateNetwork }
        : undefined;
    }
  }
  return undefined;
}

/** Throws `BlockedAddressError` unless the policy lets requests reach `address`. */
export function assertAddressAllowed(address: string, policy: NetworkPolicy, host = address): void {
  const problem = classifyAddress(address);
  if (!problem) return;
  if (problem.privateNetwork && policy.allowPrivateNetwork) return;
  const bytes = parseIp(address);
  if (bytes && policy.allowedNetworks.some((cidr) => inCidr(bytes, cidr))) return;
  const shown = host === address ? address : `${host} (${address})`;
  throw new BlockedAddressError(
    `Requests to ${shown} are not allowed: ${problem.reason} address. An operator can allow private networks in the configuration.`,
  );
}

function inCidr(bytes: Uint8Array, cidr: string): boolean {
  const [address, prefixText] = cidr.split('/') as [string, string | undefined];
  const base = parseIp(address);
  if (!base) return false;
  const prefix = prefixText === undefined ? base.length * 8 : Number(prefixText);
  const r: Range = { bytes: base, prefix, reason: '', privateNetwork: false };
  if (inRange(bytes, r)) return true;
  // An IPv4-mapped IPv6 address matches the IPv4 network it maps to.
  const mapped = EMBEDDED_V4[0] as { prefix: Range };
  return bytes.length === 16 && inRange(bytes, mapped.prefix) && inRange(bytes.slice(12), r);
}

export const systemDnsLookup: DnsLookup = async (hostname) => {
  const addresses = await dnsLookupAll(hostname, { all: true, verbatim: true });
  return addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Every address of `hostname` (an IP literal is its own address), each checked; throws
 * `BlockedAddressError` if any is not allowed, so a name with one public and one private address
 * is refused.
 */
export async function resolveAllowedAddresses(
  hostname: string,
  policy: NetworkPolicy,
  lookup: DnsLookup,
): Promise<ResolvedAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses: ResolvedAddress[] = literal
    ? [{ address: host, family: literal === 6 ? 6 : 4 }]
    : await lookup(host);
  if (addresses.length === 0) throw new BlockedAddressError(`${host} did not resolve to any address`);
  for (const a of addresses) assertAddressAllowed(a.address, policy, host);
  return addresses;
}

/**
 * A `lookup` for `http.request` that answers only with addresses the guard already checked, so
 * the socket connects to one of them: no second resolution, and nothing a DNS answer changed in
 * between (rebinding) can slip through.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
    const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (usable.length === 0) {
      callback(Object.assign(new Error(`No IPv${wanted} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      (callback as unknown as (e: null, a: readonly ResolvedAddress[]) => void)(null, usable);
    } else {
      const first = usable[0] as ResolvedAddress;
      callback(null, first.address, first.family);
    }
  };
}
