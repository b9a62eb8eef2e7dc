/**
 * Sending a binary message on a ws connection in one write (the relay's frames are small and
 * many: five a push).
 * @module
 */
import { WebSocket } from 'ws';

/** Messages up to this size are sent as one write by {@link sendBinary}; larger ones through ws, uncopied. */
const ONE_WRITE_BYTES = 16 * 1024;

/** What {@link sendBinary} reads of a ws connection (ws 8's own fields): the socket it writes to, and whether its sender holds anything back. */
interface WsInternals {
  _socket?: { write(chunk: Uint8Array): boolean } | null;
  _sender?: { _state?: unknown; _queue?: unknown[] } | null;
}

/**
 * Sends one binary message. ws writes a message's frame header and its payload as two writes,
 * corked, which Node's stream then hands to writev: a small message costs about twice the
 * JavaScript of one write (the relay sends five a push: the ack and four deliveries). Here a
 * small one is framed as ws frames it (FIN, binary, unmasked as a server's frames are, the
 * length in 7 or 16 bits) and written in one buffer to the socket ws writes to, in order with
 * what ws writes there. Only while the connection is open, no extension was agreed (this
 * server offers none), and ws's sender holds nothing back (nothing queued, its state the
 * default); otherwise, for a large message, or should those fields ever be missing, ws sends it.
 */
export function sendBinary(socket: WebSocket, payload: Uint8Array): void {
  const { _socket: raw, _sender: sender } = socket as unknown as WsInternals;
  if (
    payload.length > ONE_WRITE_BYTES ||
    socket.readyState !== WebSocket.OPEN ||
    socket.extensions !== '' ||
    !raw ||
    sender?._state !== 0 ||
    !Array.isArray(sender._queue) ||
    sender._queue.length > 0
  )
    return socket.send(payload);
  const head = payload.length < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(head + payload.length);
  frame[0] = 0x82;
  if (head === 2) frame[1] = payload.length;
  else {
    frame[1] = 126;
    frame.writeUInt16BE(payload.length, 2);
  }
  frame.set(payload, head);
  raw.write(frame);
}
