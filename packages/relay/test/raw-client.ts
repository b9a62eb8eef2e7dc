// A client that speaks the relay protocol frame by frame, for hostile-input and durability tests.
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { Keyring, MembershipLog, sealEnvelope, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT, type WireMessage } from '@sealdoc/protocol';

export class RawClient {
  /** What arrived and was not taken by {@link RawClient.next} yet. */
  readonly received: WireMessage[] = [];
  /** Everything that arrived, in order (batches opened), taken or not. */
  readonly heard: WireMessage[] = [];
  closedWith: number | undefined;
  readonly #socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      const message = decodeWire(new Uint8Array(data));
      const messages = message.type === 'batch' ? message.messages : [message];
      this.received.push(...messages);
      this.heard.push(...messages);
    });
    socket.on('close', (code) => (this.closedWith = code));
  }

  /**
   * Connects; with an identity (a person's or a device's keys), says hello (signing the
   * challenge) and waits for the welcome, unless `welcome` is false (a hello that may be refused).
   */
  static async connect(url: string, identity?: Identity, options: { badSignature?: boolean; welcome?: boolean; headers?: Record<string, string>; localAddress?: string } = {}): Promise<RawClient> {
    const socket = new WebSocket(url, { headers: options.headers, localAddress: options.localAddress });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const challenge = (await client.next('challenge')) as Extract<WireMessage, { type: 'challenge' }>;
    if (identity) {
      const signature = await signMessage(identity, HELLO_CONTEXT, challenge.nonce);
      if (options.badSignature) signature[0]! ^= 1;
      client.send({ type: 'hello', signingPublicKey: identity.signingPublicKey, signature });
      if (!options.badSignature && options.welcome !== false) await client.next('welcome');
    }
    return client;
  }

  send(message: WireMessage): void {
    this.#socket.send(encodeWire(message));
  }

  sendRaw(bytes: Uint8Array): void {
    this.#socket.send(bytes);
  }

  /** The first received message of `type` not taken yet (waits for it). */
  async next(type: WireMessage['type'], ms = 5000): Promise<WireMessage> {
    const until = Date.now() + ms;
    for (;;) {
      const i = this.received.findIndex((m) => m.type === type);
      if (i >= 0) return this.received.splice(i, 1)[0]!;
      if (Date.now() > until || this.closedWith !== undefined) throw new Error(`no ${type} arrived (closed: ${this.closedWith})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The answer to request `ref`: its ack's cursor, or a failure with the relay's refusal. */
  async answer(ref: number, ms = 10_000): Promise<number> {
    const until = Date.now() + ms;
    for (;;) {
      const m = this.received.find((m) => (m.type === 'ack' || m.type === 'error') && m.ref === ref);
      if (m?.type === 'ack') return m.cursor;
      if (m?.type === 'error') throw new Error(`refused: ${m.code} ${m.message}`);
      if (Date.now() > until || this.closedWith !== undefined) throw new Error(`no answer to ${ref}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits for the socket to close; resolves with its close code. */
  async closed(ms = 5000): Promise<number> {
    const until = Date.now() + ms;
    while (this.closedWith === undefined) {
      if (Date.now() > until) throw new Error('the relay did not close the connection');
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.closedWith;
  }

  close(): void {
    this.#socket.close();
  }
}

/** Seals update envelopes for `identity` under the log's current epoch. */
export async function envelopeMaker(identity: Identity, ops: readonly Uint8Array[], docId: Uint8Array) {
  const log = await MembershipLog.fromOps(ops);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, identity, keyring);
  return (seq: number, plaintext = yjsUpdate(`[${seq}]`)) =>
    sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: log.epoch, seq, head: log.head, author: identity, keyring, plaintext });
}

/** A Yjs update inserting `text` (its own client id). */
export function yjsUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}
