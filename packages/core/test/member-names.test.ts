import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as encoding from 'lib0/encoding';
import { signMessage } from '@sealdoc/crypto';
import { MEMBER_NAMES_FIELD, MemberNameError, MemberNames, type Group } from '@sealdoc/core';
import { World, eventually, identity, toHex } from './helpers.js';

/** A name record as the format says (see member-names.ts), signed by `group`'s device, for any person and group. */
async function forge(group: Group, person: Uint8Array, name: string, at: number, groupId = group.groupId): Promise<Uint8Array> {
  const encoder = encoding.createEncoder();
  encoding.writeUint8(encoder, 1);
  encoding.writeVarUint8Array(encoder, groupId);
  encoding.writeVarUint8Array(encoder, person);
  encoding.writeVarUint8Array(encoder, group.deviceId);
  encoding.writeVarUint(encoder, at);
  encoding.writeVarString(encoder, name);
  const signed = encoding.toUint8Array(encoder);
  const record = new Uint8Array(signed.length + 64);
  record.set(signed);
  record.set(await signMessage(group.keys, 'member-name', signed), signed.length);
  return record;
}

async function names(world: World): Promise<Map<string, MemberNames>> {
  const all = new Map<string, MemberNames>();
  for (const [name, peer] of world.peers) all.set(name, new MemberNames(peer.doc, peer.group));
  return all;
}

const id = (name: string) => toHex(identity(name).memberId);
const nameAt = (book: MemberNames, person: string) => book.get(id(person))?.name;

describe('MemberNames: names members give themselves', () => {
  it('a name travels sealed to every member, and so does a rename', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const book = await names(world);
    await book.get('alice')!.set('  Alice  ');
    await world.settle();
    for (const reader of ['alice', 'bob', 'carol']) await eventually(() => nameAt(book.get(reader)!, 'alice') === 'Alice');
    const changes: (string | undefined)[] = [];
    book.get('carol')!.events.on('change', ({ person, name }) => person === id('alice') && changes.push(name));
    await book.get('alice')!.set('Alice Liddell');
    await world.settle();
    await eventually(() => nameAt(book.get('carol')!, 'alice') === 'Alice Liddell');
    assert.deepEqual(changes, ['Alice Liddell']);
    assert.deepEqual(book.get('bob')!.all(), new Map([[id('alice'), 'Alice Liddell']]));
    // Sealed like the rest: the relay's side holds no name in clear.
    for (const p of world.peers.values()) for (const e of p.sealed.envelopes()) assert.ok(!new TextDecoder('latin1').decode(e).includes('Alice'));
  });

  it('a member cannot name anyone but itself: forged, moved and mislabelled records are not taken', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const book = await names(world);
    await book.get('alice')!.set('Alice');
    await world.settle();
    await eventually(() => nameAt(book.get('carol')!, 'alice') === 'Alice');
    const bob = world.peer('bob');
    const aliceKey = id('alice');
    const map = bob.doc.getMap<Uint8Array>(MEMBER_NAMES_FIELD);
    // Bob signs a record saying it is Alice's, far in the future; one for another group; his own record under Alice's key; garbage.
    map.set(aliceKey, await forge(bob.group, identity('alice').memberId, 'Mallory', Date.now() + 1e9));
    await world.settle();
    map.set(aliceKey, await forge(world.peer('alice').group, identity('alice').memberId, 'Elsewhere', Date.now() + 1e9, new Uint8Array(16)));
    await world.settle();
    await book.get('bob')!.set('Bob');
    map.set(aliceKey, map.get(id('bob'))!);
    await world.settle();
    map.set(aliceKey, new Uint8Array([1, 2, 3]));
    await world.settle();
    assert.equal(nameAt(book.get('carol')!, 'alice'), 'Alice');
    // A record of Bob's device that names Alice's person under Bob's own key: not Bob's either.
    map.set(id('bob'), await forge(bob.group, identity('alice').memberId, 'Alice', Date.now() + 1e9));
    await world.settle();
    assert.equal(nameAt(book.get('carol')!, 'bob'), 'Bob');
    // Alice's device wrote its record back each time: members who never saw it see it too.
    const late = new MemberNames(world.peer('carol').doc, world.peer('carol').group);
    await late.checked;
    assert.equal(nameAt(late, 'alice'), 'Alice');
  });

  it('an older record of a person written back rolls nothing back', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const book = await names(world);
    await book.get('alice')!.set('Alice');
    await world.settle();
    const old = world.peer('bob').doc.getMap<Uint8Array>(MEMBER_NAMES_FIELD).get(id('alice'))!;
    await book.get('alice')!.set('Alice B.');
    await world.settle();
    await eventually(() => nameAt(book.get('carol')!, 'alice') === 'Alice B.');
    world.peer('bob').doc.getMap<Uint8Array>(MEMBER_NAMES_FIELD).set(id('alice'), old);
    await world.settle();
    assert.equal(nameAt(book.get('carol')!, 'alice'), 'Alice B.');
  });

  it("a removed member's later rename is not taken, even carried by a member who stayed", async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const book = await names(world);
    await book.get('carol')!.set('Carol');
    await world.settle();
    await eventually(() => nameAt(book.get('alice')!, 'carol') === 'Carol');
    await world.change('remove', 'carol', ['alice', 'bob'], { cutoff: world.highestSeqOf('carol') });
    await eventually(() => nameAt(book.get('alice')!, 'carol') === undefined);
    // Carol signs a newer name with the key she still holds (her own device writes it only
    // while it has not learnt of the removal; once it has, it refuses: not-a-writer); Bob, who
    // stayed, copies it in.
    await book.get('carol')!.set('Carol (admin)').catch((e: unknown) => assert.ok(e instanceof MemberNameError && e.code === 'not-a-writer'));
    const record = await forge(world.peer('carol').group, identity('carol').memberId, 'Carol (admin)', Date.now() + 1000);
    world.peer('bob').doc.getMap<Uint8Array>(MEMBER_NAMES_FIELD).set(id('carol'), record);
    await world.settle();
    assert.equal(nameAt(book.get('alice')!, 'carol'), undefined);
    assert.equal(nameAt(book.get('bob')!, 'carol'), undefined);
  });

  it('refuses a name that is none, and a reader\'s own, in plain typed errors; a reader sees the others\' names', async () => {
    const world = await World.create(['alice', 'rita'], { roles: { rita: 'reader' } });
    const book = await names(world);
    for (const bad of ['', '   ', 'x'.repeat(65), 'Al\nice', 'Al\u0000ice']) {
      await assert.rejects(book.get('alice')!.set(bad), (e: unknown) => e instanceof MemberNameError && e.code === 'bad-name');
    }
    await assert.rejects(book.get('rita')!.set('Rita'), (e: unknown) => e instanceof MemberNameError && e.code === 'not-a-writer');
    // A reader reads the names all the same.
    await book.get('alice')!.set('Alice');
    await world.settle();
    await eventually(() => nameAt(book.get('rita')!, 'alice') === 'Alice');
  });
});
