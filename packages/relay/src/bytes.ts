/** Hex for ids (map keys, log fields): @sealdoc/crypto's, under short names. */
export { toHex as hex, fromHex as unhex } from '@sealdoc/crypto';

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
