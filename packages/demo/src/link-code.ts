/**
 * A device link as an address: the app's own, with the link's code in the fragment
 * (`#link=<code>`), which browsers never send to a server. fragment.ts takes it out of the
 * address bar before anything else runs.
 * @module
 */

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
