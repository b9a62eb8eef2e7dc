// A hostile client, in a process of its own, that floods a relay until it is killed:
//   node --import tsx test/hostile/attacker.ts <flood> <ws url> [scale]
// (`scale` below 1 makes its set-up smaller, for the short run in npm test.)
// It prints "ready" once its set-up is done and the flood runs. The floods are what a key pair
// with no standing can do: it makes its own groups, so it is a member of what it attacks.
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { createGroup, generateMnemonic, identityFromMnemonic, identityFromSeed, Keyring, MembershipLog, rotateEpoch, sealEnvelope, setMemberRole, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { COVERS_CONTEXT, coversSignedBytes, decodeWire, encodeWire, HELLO_CONTEXT, type SeqRange, type WireMessage } from '@sealdoc/protocol';

import { FLOODS, type Flood } from './floods.js';

const [flood, url, scaleText] = process.argv.slice(2) as [Flood, string, string | undefined];
const scale = Math.min(1, Number(scaleText ?? 1) || 1);
const sized = (n: number) => Math.max(1, Math.round(n * scale));
const randomIdentity = () => identityFromMnemonic(generateMnemonic());
const randomId = () => crypto.getRandomValues(new Uint8Array(16));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The attacker is a host of its own: every connection it opens comes from this address (the honest members use 127.0.0.1). */
const ATTACKER_ADDRESS = '127.0.0.2';

/** A connection that says hello; `read: false` stops reading once welcomed (the relay's queue for it fills). */
class Conn {
  readonly socket: WebSocket;
  readonly received: WireMessage[] = [];
  closed = false;
  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer) => {
      const m = decodeWire(new Uint8Array(data));
      this.received.push(...(m.type === 'batch' ? m.messages : [m]));
      if (this.received.length > 10_000) this.received.splice(0, 5000);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }
  static async open(url: string, who: Identity, read = true): Promise<Conn> {
    const c = new Conn(new WebSocket(url, { localAddress: ATTACKER_ADDRESS }));
    await new Promise<void>((resolve, reject) => {
      c.socket.once('open', () => resolve());
      c.socket.once('error', reject);
    });
    const challenge = (await c.next('challenge')) as Extract<WireMessage, { type: 'challenge' }>;
    c.send({ type: 'hello', signingPublicKey: who.signingPublicKey, signature: await signMessage(who, HELLO_CONTEXT, challenge.nonce) });
    await c.next('welcome');
    if (!read) c.socket.pause();
    return c;
  }
  send(m: WireMessage): void {
    if (!this.closed) this.socket.send(encodeWire(m));
  }
  /** Whether this side's own send buffer has room (the attacker does not let itself grow without bound). */
  get writable(): boolean {
    return !this.closed && this.socket.bufferedAmount < 256 * 1024;
  }
  async next(type: WireMessage['type'], ms = 30_000): Promise<WireMessage> {
    const until = Date.now() + ms;
    for (;;) {
      const i = this.received.findIndex((m) => m.type === type);
      if (i >= 0) return this.received.splice(i, 1)[0]!;
      if (Date.now() > until || this.closed) throw new Error(`no ${type}`);
      await sleep(2);
    }
  }
}

/** A group of `admin`'s own (with `members` as writers and `readers` made up), with its keys; `create` sends its first op. */
async function makeGroup(admin: Identity, members: Identity[] = [], readers = 0) {
  const made = Array.from({ length: readers }, () => ({ keys: identityFromSeed(crypto.getRandomValues(new Uint8Array(64))), role: 'reader' as const }));
  const ops = [await createGroup(admin, { members: [...members.map((keys) => ({ keys, role: 'writer' as const })), ...made] })];
  const log = await MembershipLog.fromOps(ops);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, admin, keyring);
  return { log, keyring, create: (c: Conn) => c.send({ type: 'ops', groupId: log.groupId, fromIndex: 0, ops }) };
}

/** A small group of `admin`'s own, created on the relay through `c`. */
async function ownGroup(c: Conn, admin: Identity) {
  const group = await makeGroup(admin);
  group.create(c);
  return group;
}

function update(bytes: number): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'x'.repeat(bytes));
  return Y.encodeStateAsUpdate(doc);
}

/** Runs `step` over and over, yielding to the event loop between rounds, until the process is killed. */
async function forever(step: () => Promise<void> | void): Promise<never> {
  for (;;) {
    await step();
    await new Promise((r) => setImmediate(r));
  }
}

const floods: Record<Flood, (url: string, ready: () => void) => Promise<void>> = {
  /** A 1 MB document of its own, then 16 sockets that never read and ask for all of it again and again. */
  async 'have-flood'(url, ready) {
    const me = randomIdentity();
    const writer = await Conn.open(url, me);
    const { log, keyring } = await ownGroup(writer, me);
    const docId = randomId();
    const body = update(1500);
    const count = sized(700);
    for (let seq = 0; seq < count; seq++)
      writer.send({ type: 'push', ref: seq + 1, envelope: await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: 0, seq, head: log.head, author: me, keyring, plaintext: body }) });
    while (writer.received.filter((m) => m.type === 'ack').length < count) await sleep(10);
    const floods = await Promise.all(Array.from({ length: 16 }, () => Conn.open(url, me, false)));
    for (const f of floods) f.send({ type: 'subscribe', groupId: log.groupId, docId, cursor: 0 });
    ready();
    await forever(async () => {
      for (const [i, f] of floods.entries()) {
        if (f.closed) floods[i] = await Conn.open(url, me, false).catch(() => f);
        while (floods[i]!.writable) {
          floods[i]!.send({ type: 'have', reply: false, groupId: log.groupId, docId, logLength: 0, authors: [] });
          floods[i]!.send({ type: 'fetch-ops', groupId: log.groupId, fromIndex: 0 });
        }
      }
      await sleep(5);
    });
  },

  /**
   * Three groups of its own with logs of 1,000 ops, then, on eight connections per identity,
   * ops frames at about the rate an identity may send: copies of ops the log holds, ops built
   * on an old head, ranges of old ops. Each is a few hundred bytes.
   */
  async 'ops-flood'(url, ready) {
    const attackers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const me = randomIdentity();
        const first = await Conn.open(url, me);
        const { log, keyring } = await ownGroup(first, me);
        for (let i = 0; i < sized(1000); i++) {
          await log.append(await rotateEpoch(log, { signer: me, keyring }));
          await unlockEpochSecrets(log, me, keyring);
        }
        const ops = log.ops();
        for (let i = 1; i < ops.length; i += 100) first.send({ type: 'ops', groupId: log.groupId, fromIndex: i, ops: ops.slice(i, i + 100) });
        const stale = await rotateEpoch(await MembershipLog.fromOps(ops.slice(0, Math.floor(ops.length / 2))), { signer: me, keyring });
        const conns = [first, ...(await Promise.all(Array.from({ length: 7 }, () => Conn.open(url, me))))];
        return { conns, me, log, ops, stale };
      }),
    );
    await sleep(500);
    ready();
    let n = 0;
    await forever(async () => {
      for (const a of attackers) {
        for (const [j, c] of a.conns.entries()) {
          if (c.closed) a.conns[j] = await Conn.open(url, a.me).catch(() => c);
          for (let k = 0; k < 6 && a.conns[j]!.writable; k++, n++) {
            const i = 1 + (n % (a.ops.length - 60));
            const send = (m: WireMessage) => a.conns[j]!.send(m);
            if (n % 3 === 0) send({ type: 'ops', groupId: a.log.groupId, fromIndex: i, ops: [a.ops[i]!] });
            else if (n % 3 === 1) send({ type: 'ops', groupId: a.log.groupId, fromIndex: Math.floor(a.ops.length / 2), ops: [a.stale] });
            else send({ type: 'ops', groupId: a.log.groupId, fromIndex: i, ops: a.ops.slice(i, i + 2) });
          }
        }
      }
      await sleep(50);
    });
  },

  /** Fresh key pairs, each asking about groups nobody has and creating groups until its quota. */
  async 'group-churn'(url, ready) {
    ready();
    const one = async () => {
      const me = randomIdentity();
      const c = await Conn.open(url, me);
      for (let i = 0; i < 300 && !c.closed; i++) {
        const g = randomId();
        c.send({ type: 'subscribe', groupId: g, docId: randomId(), cursor: 0 });
        c.send({ type: 'have', reply: false, groupId: g, docId: randomId(), logLength: 0, authors: [] });
        c.send({ type: 'fetch-ops', groupId: g, fromIndex: 0 });
        if (i % 10 === 0) await ownGroup(c, me);
        await sleep(4);
      }
      c.socket.terminate();
    };
    await Promise.all(Array.from({ length: 6 }, () => forever(() => one().catch(() => undefined))));
  },

  /** 1,000 sockets that never say hello, and 50 that send most of a large frame's header and a little of it, then stall. */
  async 'idle-sockets'(url, ready) {
    const { hostname, port } = new URL(url);
    const open = (stall: boolean): Promise<Socket> =>
      new Promise((resolve) => {
        const s = tcpConnect({ port: Number(port), host: hostname, localAddress: ATTACKER_ADDRESS }, () => {
          s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from(randomId()).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
          if (stall) {
            // A masked binary frame announcing 4 MiB, and 8 KiB of it.
            const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 2, 3, 4]);
            s.write(Buffer.concat([header, Buffer.alloc(8192, 7)]));
          }
          resolve(s);
        });
        s.on('error', () => undefined);
      });
    const sockets: Socket[] = [];
    for (let i = 0; i < 1050; i++) sockets.push(await open(i >= 1000));
    ready();
    await forever(async () => {
      for (const [i, s] of sockets.entries()) if (s.destroyed || s.readyState === 'closed') sockets[i] = await open(i >= 1000);
      await sleep(200);
    });
  },

  /** Eight identities with 32 connections each: after hello, each sends most of a frame announced as 4 MiB, then stalls. */
  async 'partial-frames'(url, ready) {
    const { hostname, port } = new URL(url);
    const frame = (payload: Uint8Array) => {
      const header = payload.length < 126 ? Buffer.from([0x82, 0x80 | payload.length]) : Buffer.from([0x82, 0x80 | 126, payload.length >> 8, payload.length & 255]);
      return Buffer.concat([header, Buffer.alloc(4), payload]); // a zero mask: the payload as it is
    };
    const stall = async (who: Identity): Promise<Socket> => {
      const s = tcpConnect({ port: Number(port), host: hostname, localAddress: ATTACKER_ADDRESS });
      await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('error', reject));
      s.on('error', () => undefined);
      s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from(randomId()).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      let buffered = Buffer.alloc(0);
      const nonce = await new Promise<Uint8Array>((resolve) =>
        s.on('data', (d: Buffer) => {
          buffered = Buffer.concat([buffered, d]);
          const at = buffered.indexOf('\r\n\r\n');
          if (at < 0 || buffered.length < at + 4 + 2) return;
          const body = buffered.subarray(at + 4 + 2, at + 4 + 2 + (buffered[at + 4 + 1]! & 0x7f));
          try {
            const m = decodeWire(new Uint8Array(body));
            if (m.type === 'challenge') resolve(m.nonce);
          } catch {
            // not whole yet
          }
        }),
      );
      s.write(frame(encodeWire({ type: 'hello', signingPublicKey: who.signingPublicKey, signature: await signMessage(who, HELLO_CONTEXT, nonce) })));
      await sleep(50);
      const big = Buffer.alloc(14);
      big[0] = 0x82;
      big[1] = 0x80 | 127;
      big.writeBigUInt64BE(BigInt(4 * 1024 * 1024), 2);
      s.write(Buffer.concat([big, Buffer.alloc(4 * 1024 * 1024 - 1, 0x41)]));
      return s;
    };
    const sockets: Socket[] = [];
    const ids = Array.from({ length: sized(8) }, randomIdentity);
    for (const who of ids) sockets.push(...(await Promise.all(Array.from({ length: 32 }, () => stall(who)))));
    ready();
    await forever(async () => {
      for (const [i, s] of sockets.entries()) if (s.destroyed) sockets[i] = await stall(ids[i % ids.length]!).catch(() => s);
      await sleep(500);
    });
  },

  /** Snapshots of a document of its own, each followed by a signed covers claiming a quarter of a million ranges (4 MB). */
  async 'covers-flood'(url, ready) {
    const me = randomIdentity();
    let c = await Conn.open(url, me);
    const { log, keyring } = await ownGroup(c, me);
    const docId = randomId();
    for (let seq = 0; seq < 20; seq++) c.send({ type: 'push', ref: seq + 1, envelope: await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: 0, seq: 2 * seq + 1, head: log.head, author: me, keyring, plaintext: update(10) }) });
    const claimed: SeqRange[] = Array.from({ length: sized(250_000) }, (_, i) => [2 * i, 2 * i]);
    ready();
    let seq = 2 ** 40;
    await forever(async () => {
      if (c.closed) c = await Conn.open(url, me).catch(() => c);
      const snapshot = await sealEnvelope({ kind: 'snapshot', groupId: log.groupId, docId, epoch: 0, seq, head: log.head, author: me, keyring, plaintext: new Uint8Array([1, 0, 0, 0, 0]) });
      c.send({ type: 'push', ref: 0, envelope: snapshot });
      const body = { groupId: log.groupId, docId, author: me.memberId, seq, authors: [[me.memberId, claimed]] as [Uint8Array, SeqRange[]][] };
      c.send({ type: 'covers', ...body, signature: await signMessage(me, COVERS_CONTEXT, coversSignedBytes(body)) });
      seq++;
      await sleep(300);
    });
  },

  /**
   * A first op naming 25,000 members (3.6 MB, each key to check), sent again and again; and a
   * group of its own with as many founders as allowed, whose roles it changes as fast as the
   * relay takes them.
   */
  async 'big-group'(url, ready) {
    const me = randomIdentity();
    const other = randomIdentity();
    // Built before connecting: building them keeps this process busy for seconds (no pongs).
    const huge = await makeGroup(me, [other], sized(25_000));
    const { log, keyring, create } = await makeGroup(me, [other], 62);
    const c = await Conn.open(url, me);
    create(c);
    await sleep(1000);
    ready();
    let n = 0;
    await forever(async () => {
      if (n++ % 10 === 0) huge.create(c);
      for (let k = 0; k < 10 && c.writable; k++) {
        const op = await setMemberRole(log, { signer: me, keyring }, other.memberId, log.length % 2 === 0 ? 'admin' : 'writer');
        await log.append(op);
        c.send({ type: 'ops', groupId: log.groupId, fromIndex: log.length - 1, ops: [op] });
      }
      await sleep(20);
    });
  },

  /** Ten identities of a group with a 3.6 MB log (64 founders, hundreds of rotations), 31 connections each that never read, asking for all of it again and again. */
  async 'long-log-readers'(url, ready) {
    const ids = Array.from({ length: 10 }, randomIdentity);
    const { log, keyring } = await makeGroup(ids[0]!, ids.slice(1), 54);
    while (log.ops().reduce((n, op) => n + op.length, 0) < sized(3_600_000)) {
      await log.append(await rotateEpoch(log, { signer: ids[0]!, keyring }));
      await unlockEpochSecrets(log, ids[0]!, keyring);
    }
    const first = await Conn.open(url, ids[0]!);
    const ops = log.ops();
    for (let i = 0; i < ops.length; i += 100) first.send({ type: 'ops', groupId: log.groupId, fromIndex: i, ops: ops.slice(i, i + 100) });
    await sleep(3000);
    // 31 each: the first identity's first connection counts towards its 32.
    const conns = await Promise.all(ids.flatMap((who) => Array.from({ length: 31 }, () => Conn.open(url, who, false))));
    ready();
    await forever(async () => {
      for (const [i, c] of conns.entries()) {
        if (c.closed) conns[i] = await Conn.open(url, ids[Math.floor(i / 31)]!, false).catch(() => c);
        if (conns[i]!.writable) conns[i]!.send({ type: 'fetch-ops', groupId: log.groupId, fromIndex: 0 });
      }
      await sleep(1000);
    });
  },

  /** Envelopes of 60 KB into a group of its own, at about the byte rate one connection may send. */
  async 'push-flood'(url, ready) {
    const me = randomIdentity();
    let c = await Conn.open(url, me);
    const { log, keyring } = await ownGroup(c, me);
    const body = update(60_000);
    const docId = randomId();
    ready();
    let seq = 0;
    await forever(async () => {
      if (c.closed) c = await Conn.open(url, me).catch(() => c);
      if (c.writable) c.send({ type: 'push', ref: seq + 1, envelope: await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: 0, seq: seq++, head: log.head, author: me, keyring, plaintext: body }) });
      await sleep(4);
    });
  },
};

if (!FLOODS.includes(flood) || !url) {
  console.error(`usage: attacker.ts <${FLOODS.join('|')}> <ws url>`);
  process.exit(2);
}
floods[flood](url, () => console.log('ready')).catch((error: unknown) => {
  console.error(`attacker failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
