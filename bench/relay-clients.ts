// The load generator's clients for bench:relay's comparison: one kind per server, each speaking
// that server's own protocol on a raw WebSocket (no provider: the generator shares the machine
// with the server, so it does only what the measure needs). Every client writes real Yjs
// updates (one character typed at the end of a Y.Text of its own Y.Doc); a delivery is recognised by
// its writer and sequence number (for Yjs: the update's client id and clock, read with
// Y.parseUpdateMeta, so that updates a server merges are each counted), and its latency is the
// time from the write at one client to its arrival at another client of the same document.
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, openEnvelope, readEnvelopeHeader, sealEnvelope, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT, MESSAGE_TYPES, type WireMessage } from '@sealdoc/protocol';
import { framesOf } from './relay-frames.js';

/** Writes recorded per writer at most (the fixed-load phase writes 150 each). */
const MAX_TIMED = 8192;

/** When each write was made, and the latencies of the arrivals at other clients while `recording`. */
export class Recorder {
  readonly #sentAt: Float64Array[];
  readonly latencies: number[] = [];
  recording = false;
  /** Arrivals at other clients, recorded or not. */
  arrivals = 0;
  constructor(writers: number) {
    this.#sentAt = Array.from({ length: writers }, () => new Float64Array(MAX_TIMED));
  }
  sent(writer: number, seq: number): void {
    if (this.recording && seq < MAX_TIMED) this.#sentAt[writer]![seq] = performance.now();
  }
  arrived(writer: number, seq: number): void {
    this.arrivals++;
    if (!this.recording || seq >= MAX_TIMED) return;
    const t = this.#sentAt[writer]?.[seq];
    if (t) this.latencies.push(performance.now() - t);
  }
}

/** One client of the load: it writes when told, and reports its acknowledged writes. */
export interface LoadClient {
  /** Writes one small update now; false when it has none left to write (envelopes sealed in advance). */
  write(): boolean;
  /** One of its own writes was acknowledged (an ack, a sync status, or its own update echoed back). */
  onAck: () => void;
  close(): void;
}

/** How to connect a server's clients: `docs` documents with `perDoc` clients each; writer `d * perDoc + c`. */
export interface Driver {
  readonly name: string;
  connect(url: string, docs: number, perDoc: number, recorder: Recorder): Promise<LoadClient[]>;
}

/** A client's own Y.Doc: each write inserts one character, so that its clock is its sequence number. */
export class YWriter {
  readonly doc = new Y.Doc();
  readonly #text = this.doc.getText('t');
  #last: Uint8Array | undefined;
  constructor(clientId: number) {
    this.doc.clientID = clientId;
    this.doc.on('update', (update: Uint8Array) => (this.#last = update));
  }
  /** The next update and its clock (= how many this writer made before it): a character typed after its last one. */
  next(): { update: Uint8Array; seq: number } {
    const seq = Y.getState(this.doc.store, this.doc.clientID);
    this.#text.insert(this.#text.length, 'x');
    return { update: this.#last!, seq };
  }
}

/** Yjs client ids of the writers: writer w is client w + 1 (each its own, so arrivals are told apart). */
export const clientIdOf = (writer: number) => writer + 1;

/** Reports every write an update holds: each client's clocks from..to (one character a write). */
function yjsArrivals(update: Uint8Array, self: number, recorder: Recorder, onOwn: () => void): void {
  const { from, to } = Y.parseUpdateMeta(update);
  for (const [client, start] of from) {
    const writer = client - 1;
    const end = to.get(client) ?? start;
    for (let clock = start; clock < end; clock++) {
      if (writer === self) onOwn();
      else recorder.arrived(writer, clock);
    }
  }
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

/** The y-websocket server: the y-websocket sync protocol, one document per URL path; the server echoes each update to its writer too, which is the acknowledgement. */
export const yWebsocketDriver: Driver = {
  name: 'y-websocket',
  async connect(url, docs, perDoc, recorder) {
    const clients: LoadClient[] = [];
    for (let d = 0; d < docs; d++)
      for (let c = 0; c < perDoc; c++) {
        const writer = d * perDoc + c;
        const y = new YWriter(clientIdOf(writer));
        const socket = new WebSocket(`${url}/doc-${d}`, { perMessageDeflate: false });
        socket.binaryType = 'nodebuffer';
        const client: LoadClient = {
          onAck: () => undefined,
          write() {
            const { update, seq } = y.next();
            const e = encoding.createEncoder();
            encoding.writeVarUint(e, 0); // messageSync
            encoding.writeVarUint(e, 2); // messageYjsUpdate
            encoding.writeVarUint8Array(e, update);
            recorder.sent(writer, seq);
            socket.send(encoding.toUint8Array(e));
            return true;
          },
          close: () => socket.close(),
        };
        socket.on('message', (data: Buffer) => {
          const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          if (decoding.readVarUint(dec) !== 0) return; // awareness
          const step = decoding.readVarUint(dec);
          if (step === 1 || step === 2) yjsArrivals(decoding.readVarUint8Array(dec), writer, recorder, () => client.onAck());
        });
        await opened(socket);
        clients.push(client);
      }
    return clients;
  },
};

/** Hocuspocus: its protocol (every message names its document), a token it does not check, then sync; it answers each update with a sync status, the acknowledgement. */
export const hocuspocusDriver: Driver = {
  name: 'hocuspocus',
  async connect(url, docs, perDoc, recorder) {
    const clients: LoadClient[] = [];
    for (let d = 0; d < docs; d++)
      for (let c = 0; c < perDoc; c++) {
        const writer = d * perDoc + c;
        const name = `doc-${d}`;
        const y = new YWriter(clientIdOf(writer));
        const socket = new WebSocket(url, { perMessageDeflate: false });
        let authenticated: () => void = () => undefined;
        const ready = new Promise<void>((resolve) => (authenticated = resolve));
        const message = (write: (e: encoding.Encoder) => void) => {
          const e = encoding.createEncoder();
          encoding.writeVarString(e, name);
          write(e);
          socket.send(encoding.toUint8Array(e));
        };
        const client: LoadClient = {
          onAck: () => undefined,
          write() {
            const { update, seq } = y.next();
            recorder.sent(writer, seq);
            message((e) => {
              encoding.writeVarUint(e, 0); // Sync
              encoding.writeVarUint(e, 2); // update
              encoding.writeVarUint8Array(e, update);
            });
            return true;
          },
          close: () => socket.close(),
        };
        socket.on('message', (data: Buffer) => {
          const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          decoding.readVarString(dec);
          const type = decoding.readVarUint(dec);
          if (type === 8) return client.onAck(); // SyncStatus
          if (type === 2) return authenticated(); // Auth: Authenticated
          if (type !== 0 && type !== 4) return; // Sync, SyncReply
          const step = decoding.readVarUint(dec);
          // Its own update comes back in the broadcast too: acknowledged by the sync status already.
          if (step === 1 || step === 2) yjsArrivals(decoding.readVarUint8Array(dec), writer, recorder, () => undefined);
        });
        await opened(socket);
        message((e) => {
          encoding.writeVarUint(e, 2); // Auth
          encoding.writeVarUint(e, 0); // Token
          encoding.writeVarString(e, 'bench');
        });
        await ready;
        message((e) => {
          encoding.writeVarUint(e, 0); // Sync
          encoding.writeVarUint(e, 0); // step 1
          encoding.writeVarUint8Array(e, Y.encodeStateVector(y.doc));
        });
        clients.push(client);
      }
    return clients;
  },
};

/**
 * Sealdoc's relay: one group per document (its `perDoc` clients its members), each client
 * authenticated by its signed hello and subscribed to its document. Each write is a Yjs update
 * sealed in an envelope (XChaCha20-Poly1305, signed with Ed25519) and pushed; the relay's ack
 * is the acknowledgement. `preSealed`: the envelopes are sealed before the clock starts
 * (`sealedPerClient` each) and arrivals are not opened: what the relay costs alone. Otherwise
 * the full client path: each write is sealed when it is made and each arrival verified and
 * opened before it counts.
 */
export function sealdocDriver(options: { preSealed: boolean; sealedPerClient: number }): Driver {
  return {
    name: options.preSealed ? 'sealdoc relay-only' : 'sealdoc full client',
    async connect(url, docs, perDoc, recorder) {
      const clients: LoadClient[] = [];
      const writerOf = new Map<string, number>();
      for (let d = 0; d < docs; d++) {
        const docId = new Uint8Array(16).fill(d + 1);
        const ids: Identity[] = Array.from({ length: perDoc }, () => identityFromMnemonic(generateMnemonic()));
        const log = await MembershipLog.fromOps([await createGroup(ids[0]!, { members: ids.slice(1).map((keys) => ({ keys, role: 'writer' as const })) })]);
        const ops = log.ops();
        for (const [c, id] of ids.entries()) {
          const writer = d * perDoc + c;
          writerOf.set(Buffer.from(id.memberId).toString('hex'), writer);
          const keyring = new Keyring();
          await unlockEpochSecrets(log, id, keyring);
          const y = new YWriter(clientIdOf(writer));
          const seal = (plaintext: Uint8Array, seq: number) =>
            sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: log.epoch, seq, head: log.head, author: id, keyring, plaintext });
          const sealed: Uint8Array[] = [];
          if (options.preSealed) {
            const updates = Array.from({ length: options.sealedPerClient }, () => y.next());
            sealed.push(...(await Promise.all(updates.map(({ update, seq }) => seal(update, seq)))));
          }
          const context = log.envelopeContext(keyring, { docId, kinds: ['update'] });
          const socket = await raw(url, id);
          let next = 0;
          // Full path: sealed in write order, pushed in that order.
          let chain = Promise.resolve();
          const client: LoadClient = {
            onAck: () => undefined,
            write() {
              if (options.preSealed) {
                const seq = next++;
                if (seq >= sealed.length) return false;
                recorder.sent(writer, seq);
                socket.push(seq + 1, sealed[seq]!);
                return true;
              }
              const { update, seq } = y.next();
              recorder.sent(writer, seq);
              const envelope = seal(update, seq);
              chain = chain.then(async () => socket.push(seq + 1, await envelope));
              return true;
            },
            close: () => socket.socket.close(),
          };
          socket.onAck = () => client.onAck();
          socket.onDeliver = (envelope) => {
            if (options.preSealed) {
              const h = readEnvelopeHeader(envelope);
              recorder.arrived(writerOf.get(Buffer.from(h.author).toString('hex'))!, h.seq);
            } else
              void openEnvelope(envelope, context).then(({ header }) => recorder.arrived(writerOf.get(Buffer.from(header.author).toString('hex'))!, header.seq));
          };
          if (c === 0) socket.send({ type: 'ops', groupId: log.groupId, fromIndex: 0, ops });
          clients.push(client);
          const caught = socket.wait('caught-up');
          // The group exists before its other members subscribe (the first sent its ops just now).
          if (c === 0) await new Promise((r) => setTimeout(r, 50));
          socket.send({ type: 'subscribe', groupId: log.groupId, docId, cursor: 0 });
          await caught;
        }
      }
      return clients;
    },
  };
}

/** A raw client of the relay: it reads the type byte of each frame, and decodes what it waits for. */
class RawRelayClient {
  onDeliver: (envelope: Uint8Array) => void = () => undefined;
  onAck: () => void = () => undefined;
  #waiters: ((m: WireMessage) => boolean)[] = [];
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (const frame of framesOf(bytes)) {
        if (frame[1] === MESSAGE_TYPES.ack) this.onAck();
        else {
          const m = decodeWire(frame);
          if (m.type === 'deliver') this.onDeliver(m.envelope);
          else if (m.type === 'error') throw new Error(`the relay refused: ${m.code}: ${m.message}`);
          else this.#waiters = this.#waiters.filter((w) => !w(m));
        }
      }
    });
  }
  wait(type: WireMessage['type']): Promise<WireMessage> {
    return new Promise((resolve) => this.#waiters.push((m) => (m.type === type ? (resolve(m), true) : false)));
  }
  send(m: WireMessage): void {
    this.socket.send(encodeWire(m));
  }
  push(ref: number, envelope: Uint8Array): void {
    this.send({ type: 'push', ref, envelope });
  }
}

/** Connects and says hello. */
async function raw(url: string, id: Identity): Promise<RawRelayClient> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const client = new RawRelayClient(socket);
  const challenge = (await client.wait('challenge')) as Extract<WireMessage, { type: 'challenge' }>;
  client.send({ type: 'hello', signingPublicKey: id.signingPublicKey, signature: await signMessage(id, HELLO_CONTEXT, challenge.nonce) });
  await client.wait('welcome');
  return client;
}
