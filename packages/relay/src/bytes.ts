/** Byte helpers of @sealdoc/crypto, hex under short names (ids as map keys, log fields). */
export { toHex as hex, fromHex as unhex, equalBytes } from '@sealdoc/crypto';
