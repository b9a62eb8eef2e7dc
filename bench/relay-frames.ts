// The frames in what a relay sent: a batch frame (type byte `batch`: u32 count, then each frame
// with its u32 length) split into its frames, anything else as itself. The bench clients read
// only the type byte of each, so as not to spend the load generator's CPU on decoding.
import { MESSAGE_TYPES } from '@sealdoc/protocol';

export function framesOf(bytes: Uint8Array): Uint8Array[] {
  if (bytes[1] !== MESSAGE_TYPES.batch) return [bytes];
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, at = 6, n = view.getUint32(2); i < n; i++) {
    const length = view.getUint32(at);
    frames.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}
