/**
 * PADMÉ padding (Nikitin, Barman, Lueks, Underwood, Hubaux, Ford: "Reducing Metadata
 * Leakage from Encrypted Files and Communication with PURBs", PETS 2019, section 4).
 * A plaintext of L bytes is followed by the marker 0x80 and zeros up to
 * padmeLength(max(L + 1, 16)); the overhead is at most about 12 % and the padded length
 * reveals O(log log L) bits of L.
 * @module
 */

const MIN_PADDED = 16;

/** PADMÉ: the padded length for `length` bytes. */
export function padmeLength(length: number): number {
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const unit = 2 ** (e - s);
  return Math.ceil(length / unit) * unit;
}

/** Length of the padded form of a `length`-byte plaintext. */
export function _paddedLength(length: number): number {
  return padmeLength(Math.max(length + 1, MIN_PADDED));
}

export function _pad(plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(_paddedLength(plaintext.length));
  out.set(plaintext);
  out[plaintext.length] = 0x80;
  return out;
}

/** The plaintext inside `padded` (a view), or undefined when the padding is not canonical. */
export function _unpad(padded: Uint8Array): Uint8Array | undefined {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80 || padded.length !== _paddedLength(end)) return undefined;
  return padded.subarray(0, end);
}
