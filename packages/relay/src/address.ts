/**
 * Network addresses as the relay's per-address limits count them. Key pairs cost nothing, so
 * what one host can make the relay do is bounded by its address: an IPv4 address as it is, an
 * IPv6 address by its /64 (one subscriber's network usually holds the whole of one), an
 * IPv4-mapped IPv6 address as the IPv4 address it maps.
 * @module
 */
import { isIP } from 'node:net';

/** The key a connection from `address` is counted under ('' when it has none, as a pipe in process). */
export function addressKey(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  // Expand "::" so that the first four groups can be read.
  const [head, tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * The client's address behind a reverse proxy the relay trusts: the last entry of
 * X-Forwarded-For (the one the proxy added; earlier ones are the client's to write), or the
 * socket's address when the header is missing or not an address.
 */
export function forwardedAddress(header: string | string[] | undefined, socketAddress: string | undefined): string | undefined {
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  const last = value?.split(',').pop()?.trim();
  return last && isIP(last) ? last : socketAddress;
}
