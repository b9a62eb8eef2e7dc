/**
 * A device link as an address: the app's own, with the link's code in the fragment
 * (`#link=<code>`), which browsers never send to a server. fragment.ts takes it out of the
 * address bar before anything else runs. What is wrong with a link is said before the
 * person types anything, in words.
 * @module
 */
import { decodeDeviceLink } from '@sealdoc/crypto';

/** The fragment key of a device link. */
export const LINK_FRAGMENT = 'link';

/** The address a new device opens: `base` (the app's address, without a fragment) with `code`. */
export function linkAddress(base: string, code: string): string {
  return `${base}#${LINK_FRAGMENT}=${code}`;
}

/** The code of the device link `address` carries, or '' when it carries none (an invitation, no fragment, anything else). */
export function linkCode(address: string): string {
  if (!address) return '';
  let hash: string;
  try {
    hash = new URL(address).hash;
  } catch {
    return '';
  }
  return new RegExp(`^#${LINK_FRAGMENT}=([A-Za-z0-9_-]+)$`).exec(hash)?.[1] ?? '';
}

/** A link that was used, cancelled or is too old. */
export const LINK_ENDED = 'This link no longer works: it was used, cancelled, or is more than 10 minutes old. On your other device, open Settings and choose “Link a new device” for a new one.';
/** A link cut short or altered. */
export const LINK_DAMAGED = 'This link is incomplete or damaged: copy all of it again from your other device.';

/**
 * Why the device link of `code` cannot be used, in words, or '' when it may be (whether it was
 * used or cancelled only the relay knows: asking says so).
 */
export function linkProblem(code: string, now = Date.now()): string {
  let expiresAt: number;
  try {
    expiresAt = decodeDeviceLink(code).expiresAt;
  } catch {
    return LINK_DAMAGED;
  }
  return now >= expiresAt ? LINK_ENDED : '';
}
