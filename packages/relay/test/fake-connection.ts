// A relay connection driven in process, so that a test controls what it reads: its queue
// (`bufferedAmount`) can be held full, or grow with everything sent to it, as a client that never
// reads; pauses are recorded.
import { decodeWire, encodeWire, HELLO_CONTEXT, type WireMessage } from '@sealdoc/protocol';
import { createGroup, MembershipLog, signMessage, type Identity, type MemberRole } from '@sealdoc/crypto';
import { MemoryRelayStore, type Relay, type RelayConnection } from '@sealdoc/relay';
import { eventually } from './clients.js';

export class FakeConnection implements RelayConnection {
  constructor(readonly address?: string) {}
  bufferedAmount = 0;
  /** Every byte sent stays in `bufferedAmount`: a client that never reads. */
  neverReads = false;
  readonly received: WireMessage[] = [];
  sentBytes = 0;
  closedWith: number | undefined;
  paused = false;
  pauses = 0;
  handlers!: ReturnType<Relay['accept']>;
  send(frame: Uint8Array): void {
    this.sentBytes += frame.length;
    if (this.neverReads) this.bufferedAmount += frame.length;
    const m = decodeWire(frame);
    this.received.push(...(m.type === 'batch' ? m.messages : [m]));
  }
  close(code: number): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = code;
    this.handlers.closed();
  }
  terminate(): void {
    this.close(1006);
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
  push(message: WireMessage): void {
    this.handlers.receive(encodeWire(message));
  }
  of<T extends WireMessage['type']>(type: T): Extract<WireMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<WireMessage, { type: T }> => m.type === type);
  }
  codes(): string[] {
    return this.of('error').map((e) => e.code);
  }
}

/** A connection to `relay` (from `address`, if given) that said hello as `who` (or none yet, without one). */
export async function connect(relay: Relay, who?: Identity, address?: string): Promise<FakeConnection> {
  const c = new FakeConnection(address);
  c.handlers = relay.accept(c);
  await eventually(() => c.of('challenge').length === 1, 2000, 'the challenge');
  if (!who) return c;
  const [challenge] = c.of('challenge');
  c.push({ type: 'hello', signingPublicKey: who.signingPublicKey, signature: await signMessage(who, HELLO_CONTEXT, challenge!.nonce) });
  await eventually(() => c.of('welcome').length === 1 || c.closedWith !== undefined, 2000, 'the welcome');
  return c;
}

/** A group made by `admin` with `members` (history: all), its log, and a fresh memory store that holds it, for a relay driven in process. */
export async function groupInMemory(admin: Identity, members: { keys: Identity; role: MemberRole }[] = []) {
  const ops = [await createGroup(admin, { members, history: 'all' })];
  const log = await MembershipLog.fromOps(ops);
  const store = new MemoryRelayStore();
  await store.appendOps(log.groupId, 0, ops, { authors: [admin.memberId], joined: log.members().map((m) => m.memberId), left: [] });
  return { ops, log, store, groupId: log.groupId };
}
