import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World, eventually } from './helpers.js';

describe('Group.leave', () => {
  it('a writer leaves by itself; the others see it gone; an admin rekeys once, and the leaver reads nothing new', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    alice.doc.getText('t').insert(0, 'before');
    await world.settle();
    assert.equal(await carol.group.rekeyAfterLeave(), false, 'not an admin');
    assert.equal(await alice.group.rekeyAfterLeave(), false, 'no one left');
    const removed: boolean[] = [];
    bob.sealed.events.on('access-removed', ({ revoked }) => removed.push(revoked));
    await bob.group.leave();
    assert.equal(bob.group.role, undefined);
    assert.deepEqual(removed, [false]);
    await world.settle();
    await eventually(() => alice.group.log.member(bob.identity.memberId) === undefined && carol.group.log.member(bob.identity.memberId) === undefined);
    const epoch = alice.group.log.epoch;
    assert.equal(await alice.group.rekeyAfterLeave(), true);
    assert.equal(alice.group.log.epoch, epoch + 1);
    assert.equal(await alice.group.rekeyAfterLeave(), false, 'once');
    await world.settle();
    alice.doc.getText('t').insert(6, ' after');
    await world.settle();
    assert.equal(carol.text(), 'before after');
    assert.equal(bob.text(), 'before');
  });

  it('the last admin cannot leave', async () => {
    const world = await World.create(['alice', 'bob']);
    await assert.rejects(world.peer('alice').group.leave(), { code: 'last-admin' });
    assert.equal(world.peer('alice').group.role, 'admin');
  });
});
