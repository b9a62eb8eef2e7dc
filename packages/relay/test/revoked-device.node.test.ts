// Issue 16, "the relay refuses its hello": a device its person revoked says hello; the relay
// first sends it the ops of the groups whose logs hold the revocation (so that the device
// verifies the revocation itself: a relay's word alone never makes a device wipe itself), then
// refuses it with `device-revoked` and closes the connection (1008). The relay knows which
// devices were revoked from an index the store keeps (revoked_devices), written with the ops;
// one indexed lookup per hello, and no log read for a key pair with no standing.
// Memory and SQLite always; PostgreSQL when it answers (always under CI=true).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  addDevice,
  certifyDevice,
  createGroup,
  Keyring,
  MembershipLog,
  newDeviceKeys,
  requestDeviceCertificate,
  revokeDevice,
  sealEnvelope,
  toHex,
  unlockEpochSecrets,
  type CertifiedDevice,
  type Identity,
} from '@sealdoc/crypto';
import type { WireMessage } from '@sealdoc/protocol';
import { MemoryRelayStore, PostgresRelayStore, SqliteRelayStore, startRelay, type RelayServer, type RelayStore } from '@sealdoc/relay';
import { DOC_ID, identity } from './clients.js';
import { RawClient, yjsUpdate } from './raw-client.js';
import { freshSchema, postgresAvailable } from './postgres.js';

const REFUSAL = 'this device was revoked by its person; it can no longer sync here';

async function device(person: Identity, label: string): Promise<CertifiedDevice> {
  const keys = newDeviceKeys();
  const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label));
  return { keys, certificate, person };
}

/** A group as one of its members keeps it: the log and a keyring per actor. */
class Kept {
  readonly #keyrings = new Map<string, Keyring>();
  private constructor(readonly log: MembershipLog) {}

  static async create(creator: Identity, members: Identity[]): Promise<{ kept: Kept; op: Uint8Array }> {
    const op = await createGroup(creator, { members: members.map((keys) => ({ keys, role: 'writer' as const })), history: 'all' });
    const kept = new Kept(await MembershipLog.fromOps([op]));
    await kept.unlock(creator);
    return { kept, op };
  }

  get groupId(): Uint8Array {
    return this.log.groupId;
  }

  keyring(keys: Identity): Keyring {
    const id = toHex(keys.memberId);
    if (!this.#keyrings.has(id)) this.#keyrings.set(id, new Keyring());
    return this.#keyrings.get(id)!;
  }

  async unlock(keys: Identity): Promise<void> {
    await unlockEpochSecrets(this.log, keys, this.keyring(keys));
  }

  by(actor: Identity | CertifiedDevice) {
    return { signer: actor, keyring: this.keyring('keys' in actor ? actor.keys : actor) };
  }

  /** Builds an op, appends it here and through `wire` to the relay (as a member would: commit-ops), and unlocks what it gives `unlock`. */
  async commit(wire: RawClient, ref: number, op: Uint8Array, unlock: Identity[] = []): Promise<void> {
    const fromIndex = this.log.length;
    await this.log.append(op);
    wire.send({ type: 'commit-ops', ref, groupId: this.groupId, fromIndex, ops: [op] });
    assert.equal(await wire.answer(ref), fromIndex + 1, 'the relay stored the op');
    for (const keys of unlock) await this.unlock(keys);
  }
}

/** The messages a hello got, up to the close: the order, the ops per group, the refusal. */
function heard(wire: RawClient) {
  const types = wire.heard.map((m) => m.type);
  const ops = new Map<string, Extract<WireMessage, { type: 'ops' }>[]>();
  for (const m of wire.heard) if (m.type === 'ops') ops.set(toHex(m.groupId), [...(ops.get(toHex(m.groupId)) ?? []), m]);
  const errors = wire.heard.flatMap((m) => (m.type === 'error' ? [m] : []));
  return { types, ops, errors };
}

/** The log the pages of one group make, from index 0, verified as a device verifies it. */
async function logFromPages(pages: Extract<WireMessage, { type: 'ops' }>[]): Promise<MembershipLog> {
  const ops: Uint8Array[] = [];
  for (const page of [...pages].sort((a, b) => a.fromIndex - b.fromIndex)) {
    assert.ok(page.fromIndex <= ops.length, 'pages leave no gap');
    ops.splice(page.fromIndex, page.ops.length, ...page.ops);
  }
  return MembershipLog.fromOps(ops);
}

const alice = identity('alice');
const bob = identity('bob');

/**
 * Alice (a person) certifies her laptop and her phone into group A and the laptop into group
 * B, through the relay; the laptop syncs (pushes an envelope to A); then the phone revokes the
 * laptop in A (not in B).
 */
async function revokedLaptop(url: string) {
  const { kept: a } = await Kept.create(alice, [bob]);
  const { kept: b } = await Kept.create(alice, [bob]);
  const laptop = await device(alice, 'Laptop');
  const phone = await device(alice, 'Phone');
  const aliceWire = await RawClient.connect(url, alice);
  aliceWire.send({ type: 'commit-ops', ref: 1, groupId: a.groupId, fromIndex: 0, ops: a.log.ops() });
  assert.equal(await aliceWire.answer(1), 1);
  aliceWire.send({ type: 'commit-ops', ref: 2, groupId: b.groupId, fromIndex: 0, ops: b.log.ops() });
  assert.equal(await aliceWire.answer(2), 1);
  await a.commit(aliceWire, 3, await addDevice(a.log, a.by(alice), laptop.certificate), [laptop.keys]);
  await a.commit(aliceWire, 4, await addDevice(a.log, a.by(alice), phone.certificate), [phone.keys]);
  await b.commit(aliceWire, 5, await addDevice(b.log, b.by(alice), laptop.certificate), [laptop.keys]);
  aliceWire.close();

  // The laptop connects with its own key and syncs.
  const laptopWire = await RawClient.connect(url, laptop.keys);
  laptopWire.send({ type: 'subscribe', groupId: a.groupId, docId: DOC_ID, cursor: 0 });
  await laptopWire.next('caught-up');
  const envelope = await sealEnvelope({ kind: 'update', groupId: a.groupId, docId: DOC_ID, epoch: a.log.epoch, seq: 0, head: a.log.head, author: laptop.keys, keyring: a.keyring(laptop.keys), plaintext: yjsUpdate('from the laptop') });
  laptopWire.send({ type: 'push', ref: 1, envelope });
  await laptopWire.answer(1);
  laptopWire.close();

  // The phone revokes the laptop in A, through the relay (cutoff 0: what the laptop sent stays).
  const phoneWire = await RawClient.connect(url, phone.keys);
  await a.commit(phoneWire, 1, await revokeDevice(a.log, a.by(phone), laptop.keys.memberId, 0));
  phoneWire.close();
  assert.ok(a.log.wasRevoked(laptop.keys.memberId));
  assert.ok(b.log.device(laptop.keys.memberId), 'the laptop is still certified in B');
  return { a, b, laptop, phone };
}

/** The revoked laptop's hello: the ops of A (only), then the refusal, then the close; it verifies the revocation itself. */
async function refusedWithEvidence(url: string, laptop: CertifiedDevice, a: Kept, b: Kept): Promise<void> {
  const wire = await RawClient.connect(url, laptop.keys, { welcome: false });
  assert.equal(await wire.closed(), 1008, 'closed as an auth failure is');
  const { types, ops, errors } = heard(wire);
  assert.ok(!types.includes('welcome'), 'never welcomed');
  assert.deepEqual(errors.map((e) => [e.ref, e.code, e.message]), [[0, 'device-revoked', REFUSAL]]);
  assert.equal(types.at(-1), 'error', 'the refusal comes last');
  const firstError = types.indexOf('error');
  assert.ok(types.slice(0, firstError).includes('ops'), 'the ops come first');
  assert.deepEqual(types.slice(0, firstError), ['challenge', ...types.slice(1, firstError).map(() => 'ops')], 'nothing but the ops before the refusal');
  assert.deepEqual([...ops.keys()], [toHex(a.groupId)], 'the ops of the group whose log revokes it, and of no other');
  assert.equal(ops.get(toHex(a.groupId))![0]!.fromIndex, 0, 'from index 0');
  const log = await logFromPages(ops.get(toHex(a.groupId))!);
  assert.ok(log.wasRevoked(laptop.keys.memberId), 'the device verifies that the log revokes it');
  assert.equal(log.device(laptop.keys.memberId), undefined);
  assert.deepEqual(log.head, a.log.head, 'the whole log, through the revocation');
  assert.ok(!ops.has(toHex(b.groupId)));
}

/** A device never revoked, and a key pair the relay never saw, are welcomed as before. */
async function othersAdmitted(url: string, phone: CertifiedDevice): Promise<void> {
  for (const keys of [phone.keys, newDeviceKeys(), alice, bob]) {
    const wire = await RawClient.connect(url, keys);
    assert.deepEqual(
      wire.heard.map((m) => m.type),
      ['challenge', 'welcome'],
    );
    wire.close();
  }
}

/** The relay scenario on one store. */
function relayScenarios(name: string, open: () => Promise<{ store: RelayStore; teardown: () => Promise<void> }>): void {
  describe(`a revoked device's hello (${name})`, () => {
    it('gets the ops of the groups that revoke it, then device-revoked, then the close; revoked in A and certified in B is still refused', async () => {
      const { store, teardown } = await open();
      const server = await startRelay({ store, port: 0 });
      try {
        const { a, b, laptop } = await revokedLaptop(server.url);
        await refusedWithEvidence(server.url, laptop, a, b);
        // Again: the same answer, every time.
        await refusedWithEvidence(server.url, laptop, a, b);
      } finally {
        await server.close();
        await teardown();
      }
    });

    it('a connection the device holds open when it is revoked is closed with device-revoked', async () => {
      const { store, teardown } = await open();
      const server = await startRelay({ store, port: 0 });
      try {
        const { kept: a } = await Kept.create(alice, [bob]);
        const laptop = await device(alice, 'Laptop');
        const phone = await device(alice, 'Phone');
        const aliceWire = await RawClient.connect(server.url, alice);
        aliceWire.send({ type: 'commit-ops', ref: 1, groupId: a.groupId, fromIndex: 0, ops: a.log.ops() });
        assert.equal(await aliceWire.answer(1), 1);
        await a.commit(aliceWire, 2, await addDevice(a.log, a.by(alice), laptop.certificate), [laptop.keys]);
        await a.commit(aliceWire, 3, await addDevice(a.log, a.by(alice), phone.certificate), [phone.keys]);
        aliceWire.close();
        const laptopWire = await RawClient.connect(server.url, laptop.keys);
        const phoneWire = await RawClient.connect(server.url, phone.keys);
        await a.commit(phoneWire, 1, await revokeDevice(a.log, a.by(phone), laptop.keys.memberId, null));
        const refusal = (await laptopWire.next('error')) as Extract<WireMessage, { type: 'error' }>;
        assert.equal(refusal.code, 'device-revoked');
        const until = Date.now() + 5000;
        while (laptopWire.closedWith === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        assert.equal(laptopWire.closedWith, 1008);
        assert.equal(phoneWire.closedWith, undefined, 'the other devices stay');
        phoneWire.close();
      } finally {
        await server.close();
        await teardown();
      }
    });

    it('a never-revoked device and an unknown key pair are admitted as before', async () => {
      const { store, teardown } = await open();
      const server = await startRelay({ store, port: 0 });
      try {
        const { phone } = await revokedLaptop(server.url);
        await othersAdmitted(server.url, phone);
      } finally {
        await server.close();
        await teardown();
      }
    });
  });
}

relayScenarios('memory', async () => {
  const store = new MemoryRelayStore();
  return { store, teardown: () => store.close() };
});

relayScenarios('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-revoked-'));
  const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const withPostgres = await postgresAvailable();
if (withPostgres) {
  relayScenarios('PostgreSQL', async () => {
    const { url, drop } = await freshSchema();
    const store = await PostgresRelayStore.connect(url);
    return {
      store,
      teardown: async () => {
        await store.close();
        await drop();
      },
    };
  });
}

describe('a revoked device: what the relay keeps and reads', () => {
  const withDir = async (body: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-revoked-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('a relay restarted on the same SQLite file still refuses it (the index persists)', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      let store = SqliteRelayStore.open(path);
      let server: RelayServer = await startRelay({ store, port: 0 });
      const { a, b, laptop, phone } = await revokedLaptop(server.url);
      await server.close();
      await store.close();

      store = SqliteRelayStore.open(path);
      server = await startRelay({ store, port: 0 });
      try {
        await refusedWithEvidence(server.url, laptop, a, b);
        await othersAdmitted(server.url, phone);
      } finally {
        await server.close();
        await store.close();
      }
    }));

  it('a group stored without the index (the relay rebuilds it from the log at start) refuses it too', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      let store = SqliteRelayStore.open(path);
      let server: RelayServer = await startRelay({ store, port: 0 });
      const { a, b, laptop, phone } = await revokedLaptop(server.url);
      await server.close();
      await store.close();
      // As a relay that kept no membership index left it: the relay replays the log once.
      const db = new Database(path);
      db.prepare('DELETE FROM members WHERE group_id = ?').run(Buffer.from(a.groupId));
      db.prepare('DELETE FROM revoked_devices WHERE group_id = ?').run(Buffer.from(a.groupId));
      db.close();

      store = SqliteRelayStore.open(path);
      assert.deepEqual(await store.revokedIn(laptop.keys.memberId, 16), [], 'nothing indexed before the relay starts');
      server = await startRelay({ store, port: 0 });
      try {
        await refusedWithEvidence(server.url, laptop, a, b);
        await othersAdmitted(server.url, phone);
      } finally {
        await server.close();
        await store.close();
      }
    }));

  it('a hello costs one indexed lookup: a key pair with no standing makes the relay read no log', async () => {
    const inner = new MemoryRelayStore();
    const calls: string[] = [];
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          calls.push(property);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const server = await startRelay({ store, port: 0 });
    try {
      const { phone } = await revokedLaptop(server.url);
      for (const keys of [newDeviceKeys(), phone.keys]) {
        calls.length = 0;
        const wire = await RawClient.connect(server.url, keys);
        wire.close();
        assert.deepEqual(calls, ['revokedIn'], 'one lookup, no log loaded');
      }
    } finally {
      await server.close();
      await inner.close();
    }
  });
});

/** The store's index of revoked devices, on each store. */
function storeIndex(name: string, open: () => Promise<{ store: RelayStore; reopen?: () => Promise<RelayStore>; teardown: () => Promise<void> }>): void {
  describe(`the index of revoked devices (${name})`, () => {
    const id = (n: number) => new Uint8Array(32).fill(n);
    const effect = (ops: number, revoked: Uint8Array[]) => ({ authors: Array.from({ length: ops }, () => id(1)), joined: [id(1)], left: [], revoked });

    it('is written with the ops (in the same transaction), bounded when read, and kept', async () => {
      const opened = await open();
      let store = opened.store;
      try {
        assert.deepEqual(await store.revokedIn(id(7), 16), [], 'nothing for a device never seen');
        assert.equal(await store.appendOps(id(100), 0, [Uint8Array.of(1), Uint8Array.of(2)], effect(2, [id(7)])), true);
        assert.equal(await store.appendOps(id(100), 1, [Uint8Array.of(9)], effect(1, [id(8)])), false, 'not at its length');
        assert.deepEqual(await store.revokedIn(id(8), 16), [], 'ops not stored index nothing');
        assert.deepEqual((await store.revokedIn(id(7), 16)).map(toHex), [toHex(id(100))]);
        // Revoked in many groups: the lookup is bounded.
        for (let g = 101; g < 121; g++) assert.equal(await store.appendOps(id(g), 0, [Uint8Array.of(g)], effect(1, [id(7), id(7)])), true);
        const some = await store.revokedIn(id(7), 16);
        assert.equal(some.length, 16);
        assert.equal(new Set(some.map(toHex)).size, 16, 'each group once');
        assert.equal((await store.revokedIn(id(7), 1000)).length, 21);
        // setMembers (the relay rebuilding the index of a group from its log) adds what the log revokes.
        await store.setMembers(id(100), [id(1)], [id(9)]);
        assert.deepEqual((await store.revokedIn(id(9), 16)).map(toHex), [toHex(id(100))]);
        assert.deepEqual((await store.revokedIn(id(7), 1000)).length, 21, 'a revocation is never undone');
        if (opened.reopen) {
          store = await opened.reopen();
          assert.equal((await store.revokedIn(id(7), 1000)).length, 21, 'kept across a restart');
          assert.deepEqual((await store.revokedIn(id(9), 16)).map(toHex), [toHex(id(100))]);
        }
      } finally {
        await opened.teardown();
      }
    });
  });
}

storeIndex('MemoryRelayStore', async () => {
  const store = new MemoryRelayStore();
  return { store, teardown: () => store.close() };
});

storeIndex('SqliteRelayStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-revoked-'));
  const path = join(dir, 'relay.sqlite');
  let store = SqliteRelayStore.open(path);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = SqliteRelayStore.open(path);
      return store;
    },
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

if (withPostgres) {
  storeIndex('PostgresRelayStore', async () => {
    const { url, drop } = await freshSchema();
    let store = await PostgresRelayStore.connect(url);
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await PostgresRelayStore.connect(url);
        return store;
      },
      teardown: async () => {
        await store.close();
        await drop();
      },
    };
  });
}
