// The demo's invitations: the codes an admin created, kept sealed under the device key across
// restarts, taken up again for their group, forgotten once they end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createGroup, createInvitation, encodeInvitation, identityFromMnemonic, identityFromSeed, generateMnemonic, invitationId, Keyring, MembershipLog, sealJoinRequest, toHex as hex, type Identity, type Invitation } from '@sealdoc/crypto';
import { DeviceKey, Group, GroupInvitation, MemoryStorage, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { Invites, MAX_DECLINED } from '../src/invites.js';

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

/** Someone holding the link asks to join: the request as the relay hands it to the admin's transport. */
async function ask(transport: WebSocketTransport, invitation: Invitation, who: Identity, name: string): Promise<void> {
  transport.events.emit('invite-requested', { inviteId: invitationId(invitation), requester: who.memberId, request: await sealJoinRequest(invitation, who, name) });
}

/** Waits until `condition` holds (2 s at most). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await condition()); tries++) {
    assert.ok(tries < 200, 'the condition did not come true in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const someone = () => identityFromSeed(crypto.getRandomValues(new Uint8Array(64)));

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

  it('keeps the requests declined here with their invitation (sealed, the newest 50): after a restart they come back declined, never pending', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const { group, transport } = await adminOfNewGroup();
    const invitation = createInvitation(group.groupId, 'writer');
    const code = encodeInvitation(invitation);
    const invites = new Invites();
    await invites.load(storage, deviceKey);
    const live = GroupInvitation.resume({ group, transport, code, baseUrl: BASE });
    await invites.keep(live);
    const [carol, dave] = [someone(), someone()];
    await ask(transport, invitation, carol, 'Carol');
    await ask(transport, invitation, dave, 'Dave');
    await until(() => live.requests.length === 2);
    live.decline(carol.memberId);
    const reloaded = async () => {
      const fresh = new Invites();
      await fresh.load(storage, deviceKey);
      return fresh;
    };
    await until(async () => (await reloaded()).declined(code).length === 1);
    assert.ok(!(await storedText(storage)).includes(hex(carol.memberId)), 'who was declined is sealed');

    // A restart: the invitation is taken up again; the relay hands both requests over again.
    const again = await reloaded();
    assert.deepEqual(again.codes, [code]);
    assert.deepEqual(again.declined(code), [hex(carol.memberId)]);
    again.resume(group, transport, BASE);
    const [resumed] = again.of(hex(group.groupId));
    await ask(transport, invitation, carol, 'Carol');
    await ask(transport, invitation, dave, 'Dave');
    await until(() => resumed!.requests.length === 2);
    assert.deepEqual(
      resumed!.requests.map((r) => [r.name, r.state]),
      [
        ['Carol', 'declined'],
        ['Dave', 'pending'],
      ],
    );
    // Asking again changes nothing.
    await ask(transport, invitation, carol, 'Carol, again');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resumed!.requests.find((r) => r.name.startsWith('Carol'))!.state, 'declined');

    // Bounded: past 50 declines (the relay lets no more ask with one link), the oldest go.
    const many = Array.from({ length: MAX_DECLINED + 5 }, someone);
    for (const [i, who] of many.entries()) await ask(transport, invitation, who, `Asker ${i}`);
    await until(() => resumed!.requests.length === 2 + many.length);
    for (const who of many) resumed!.decline(who.memberId);
    const kept = async () => (await reloaded()).declined(code);
    await until(async () => (await kept()).at(-1) === hex(many.at(-1)!.memberId));
    assert.deepEqual(await kept(), many.slice(-MAX_DECLINED).map((who) => hex(who.memberId)));

    // An invitation that ends is forgotten with its declines.
    again.onChange = () => undefined;
    resumed!.events.emit('state', { state: 'revoked' });
    await until(async () => (await reloaded()).codes.length === 0);
    for (const i of [live, resumed!]) i.close();
  });

  it('reads the record earlier versions kept (codes alone)', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const { group } = await adminOfNewGroup();
    const code = encodeInvitation(createInvitation(group.groupId, 'writer'));
    await storage.save(['demo', 'invitations'], await deviceKey.seal(new TextEncoder().encode(JSON.stringify([code, 7, { code: 8 }])), 'demo/invitations'));
    const invites = new Invites();
    await invites.load(storage, deviceKey);
    assert.deepEqual(invites.codes, [code]);
    assert.deepEqual(invites.declined(code), []);
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
