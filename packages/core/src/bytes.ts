/**
 * Hex for ids used as map and storage keys: @sealdoc/crypto's, under short names.
 * @module
 */
export { toHex as hex, fromHex as unhex } from '@sealdoc/crypto';
