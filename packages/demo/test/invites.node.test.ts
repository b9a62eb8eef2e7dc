// The demo's invitations: the codes an admin created, kept sealed under the device key across
// restarts, taken up again for their group, forgotten once they end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createGroup, createInvitation, encodeInvitation, identityFromMnemonic, generateMnemonic, Keyring, MembershipLog, toHex as hex } from '@sealdoc/crypto';
import { DeviceKey, Group, GroupInvitation, MemoryStorage, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { Invites } from '../src/invites.js';

/** Every stored record's bytes, as one string: a code in clear would show in it. */
async function storedText(storage: MemoryStorage): Promise<string> {
  return (await storage.loadRange([])).map(({ data }) => Buffer.from(data).toString('latin1')).join('\n');
}

/** A socket never opened (the transport is never told to connect). */
const NoSocket = class {} as unknown as new (url: string) => WebSocketLike;

async function adminOfNewGroup() {
  const alice = identityFromMnemonic(generateMnemonic());
  const group = new Group({ signer: alice, log: await MembershipLog.fromOps([await createGroup(alice)]), keyring: new Keyring() });
  await group.refresh();
  // Never connected: what is asked of the relay waits for a connection that does not come.
  const transport = new WebSocketTransport({ url: 'ws://127.0.0.1:9', identity: alice, WebSocket: NoSocket });
  return { group, transport };
}

const BASE = 'https://app.example/';

describe('the demo keeps its invitations sealed under the device key', () => {
  it('keeps the codes across a restart, sealed; takes them up again for their group only; forgets one that ends', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const { group, transport } = await adminOfNewGroup();
    const other = await adminOfNewGroup();
    const long = encodeInvitation(createInvitation(group.groupId, 'writer'));
    const short = encodeInvitation({ ...createInvitation(group.groupId, 'reader'), expiresAt: Date.now() + 300 });
    const elsewhere = encodeInvitation(createInvitation(other.group.groupId, 'writer'));

    const invites = new Invites();
    await invites.load(storage, deviceKey);
    await invites.keep(GroupInvitation.resume({ group, transport, code: long, baseUrl: BASE }));
    await invites.keep(GroupInvitation.resume({ group, transport, code: short, baseUrl: BASE }));
    await invites.keep(GroupInvitation.resume({ group: other.group, transport: other.transport, code: elsewhere, baseUrl: BASE }));
    const text = await storedText(storage);
    for (const code of [long, short, elsewhere]) assert.ok(!text.includes(code), 'a code in clear in the store');

    // A restart: the codes come back, and each is taken up again with its own group.
    const again = new Invites();
    await again.load(storage, deviceKey);
    assert.deepEqual([...again.codes].sort(), [long, short, elsewhere].sort());
    again.resume(group, transport, BASE);
    assert.deepEqual(again.of(hex(group.groupId)).map((i) => i.code).sort(), [long, short].sort());
    assert.deepEqual(again.of(hex(other.group.groupId)), [], 'not taken up before its group opens');
    again.resume(group, transport, BASE);
    assert.equal(again.of(hex(group.groupId)).length, 2, 'taken up once');

    // The short one expires: it leaves the list and the store.
    let changes = 0;
    again.onChange = () => changes++;
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(again.of(hex(group.groupId)).map((i) => i.code), [long]);
    assert.ok(changes >= 1, 'the app is told to draw again');
    await new Promise((r) => setTimeout(r, 50));
    const third = new Invites();
    await third.load(storage, deviceKey);
    assert.deepEqual([...third.codes].sort(), [long, elsewhere].sort());
  });

  it('a record another device key sealed is lost, not read: nothing is kept until the next change', async () => {
    const storage = new MemoryStorage();
    const { group, transport } = await adminOfNewGroup();
    const invites = new Invites();
    await invites.load(storage, await DeviceKey.generate());
    await invites.keep(GroupInvitation.resume({ group, transport, code: encodeInvitation(createInvitation(group.groupId, 'writer')), baseUrl: BASE }));
    const other = new Invites();
    await other.load(storage, await DeviceKey.generate());
    assert.deepEqual(other.codes, []);
  });
});
