// The least a relay of sealed envelopes does per update, for bench:relay's `relay-floor` subject,
// in a process of its own: it speaks just enough of the relay's protocol for the bench's clients
// (challenge, hello, welcome, subscribe, caught-up, push, ack, deliver) and, for each push, does
// only what the design cannot drop: the frame decoded, the envelope's header read, its Ed25519
// signature checked (as the relay checks it: libsodium where sodium-native loads, else node:crypto
// one-shot with the author's key object made once, at its hello), the
// envelope written to SQLite (WAL, synchronous NORMAL, as the relay) in one transaction with the
// other pushes of its turn, then the ack and one frame to each other subscriber of the document.
// Nothing else: no membership log, no quotas, no replay index, no limits, no metrics, no retries,
// no backpressure. Anything it cannot take (a frame it cannot read, a signature that does not verify:
// the envelope format moved on without it) ends the process with the reason on stderr, so that
// the bench fails rather than measure a floor that refuses its load. Not a relay (it trusts every key
// that says hello): a floor, to tell how much of the relay's CPU per update any relay with these
// guarantees pays. `--db FILE`; prints {"event":"listening","port":N}.
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { WebSocketServer } from 'ws';
import { memberIdOf, readEnvelopeHeader, verifyMessage } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT } from '@sealdoc/protocol';

const db = new Database(process.argv[process.argv.indexOf('--db') + 1]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE envelopes (cursor INTEGER PRIMARY KEY, doc BLOB NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL)');
const insert = db.prepare('INSERT INTO envelopes (doc, author, seq, bytes) VALUES (?, ?, ?, ?)');
const writeAll = db.transaction((items) => items.map(({ header, envelope }) => Number(insert.run(Buffer.concat([header.groupId, header.docId]), header.author, header.seq, envelope).lastInsertRowid)));

// What an envelope's signature covers: "sealdoc/v1/sig", the context's length and "envelope", then the envelope but its signature.
const SIGNED_PREFIX = Buffer.concat([Buffer.from('sealdoc/v1/sig'), Buffer.of(8), Buffer.from('envelope')]);
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

// libsodium, as @sealdoc/crypto uses it in Node where the optional sodium-native loads.
const sodium = (() => {
  try {
    return createRequire(import.meta.url)('sodium-native');
  } catch {
    return undefined;
  }
})();

/** Signing keys by member id (hex), from each hello: the raw key for libsodium, or a key object for node:crypto. */
const keys = new Map();
/** Sockets by document ("group:doc" in hex). */
const subscribers = new Map();
let pending = [];

function commit() {
  const items = pending;
  pending = [];
  const cursors = writeAll(items);
  items.forEach(({ socket, ref, header, envelope }, i) => {
    socket.send(encodeWire({ type: 'ack', ref, cursor: cursors[i] }));
    const frame = encodeWire({ type: 'deliver', groupId: header.groupId, docId: header.docId, cursor: cursors[i], envelope });
    for (const other of subscribers.get(`${hex(header.groupId)}:${hex(header.docId)}`) ?? []) if (other !== socket) other.send(frame);
  });
}

const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
server.on('connection', (socket) => {
  const nonce = randomBytes(32);
  socket.send(encodeWire({ type: 'challenge', nonce, maxFrameBytes: 1 << 20 }));
  const hello = async (m) => {
    if (!(await verifyMessage(m.signingPublicKey, HELLO_CONTEXT, nonce, m.signature))) throw new Error('a hello does not verify');
    const memberId = memberIdOf(m.signingPublicKey);
    keys.set(hex(memberId), sodium ? m.signingPublicKey : createPublicKey({ key: Buffer.concat([SPKI_ED25519, m.signingPublicKey]), format: 'der', type: 'spki' }));
    socket.send(encodeWire({ type: 'welcome', memberId }));
  };
  socket.on('message', (data) => {
    try {
      const m = decodeWire(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.type === 'push') {
        const { envelope, ref } = m;
        const header = readEnvelopeHeader(envelope);
        const key = keys.get(hex(header.author));
        const signed = Buffer.concat([SIGNED_PREFIX, envelope.subarray(0, envelope.length - 64)]);
        const signature = envelope.subarray(envelope.length - 64);
        if (!key || !(sodium ? sodium.crypto_sign_verify_detached(signature, signed, key) : verify(null, signed, key, signature))) throw new Error('an envelope does not verify');
        if (pending.length === 0) setImmediate(commit);
        pending.push({ socket, ref, header, envelope });
      } else if (m.type === 'hello') {
        hello(m).catch(fail);
      } else if (m.type === 'subscribe') {
        const doc = `${hex(m.groupId)}:${hex(m.docId)}`;
        if (!subscribers.has(doc)) subscribers.set(doc, new Set());
        subscribers.get(doc).add(socket);
        socket.once('close', () => subscribers.get(doc).delete(socket));
        socket.send(encodeWire({ type: 'caught-up', groupId: m.groupId, docId: m.docId, cursor: 0 }));
      }
    } catch (error) {
      fail(error);
    }
  });
});
/** Ends the process: the bench sees it exit and fails. */
function fail(error) {
  process.stderr.write(`relay floor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
server.on('listening', () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
// SIGTERM: a clean exit (a --cpu-prof run writes its profile on the way out).
process.on('SIGTERM', () => {
  db.close();
  process.exit(0);
});
