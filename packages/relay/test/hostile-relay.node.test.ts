// Members detect a lying relay: a real relay (two, to fork) behind an adversary that drops what
// it chooses on its way to one member. Bounds are short here (beacons every 100 ms, 600 ms to
// deliver what beacons show exists, 2 s of silence before a partition is suspected); the
// defaults are 10 s, 30 s and 120 s.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { toHex, readEnvelopeHeader } from '@sealdoc/crypto';
import { RelayError, SyncError } from '@sealdoc/core';
import { HostileRelay } from '../../../test/hostile/adversary.js';
import { RELAY_SCENARIOS, runRelayScenario } from '../../../test/hostile/relay-scenarios.js';
import { certified, connectDevice, DEVICE_SCENARIOS, runDeviceScenario } from '../../../test/hostile/device-scenarios.js';
import { eventually, identity, Team, type Client } from './clients.js';

const BEACONS = { intervalMs: 100, withholdMs: 600, freshnessMs: 2000 };

/** The SyncErrors a client was told of, as `code:member name`. */
function told(client: Client, names: string[]): string[] {
  const out: string[] = [];
  for (const e of client.sealed.alarms) out.push(`${e.code}:${names.find((n) => toHex(identity(n).memberId) === e.member) ?? ''}`);
  return out;
}

async function team(names: string[], adversary: HostileRelay, roles: Parameters<typeof Team.create>[1] = {}) {
  const t = await Team.create(names, roles);
  const clients: Record<string, Client> = {};
  for (const name of names) {
    clients[name] = await t.connect(name, 'ws://adversary', { WebSocket: adversary.socketFor(name), beacons: BEACONS });
    await clients[name]!.sealed.whenSynced;
  }
  const errors = new Map<string, Error[]>(names.map((n) => [n, []]));
  for (const name of names) clients[name]!.sealed.events.on('error', ({ error }) => errors.get(name)!.push(error));
  return { t, clients, errors, close: async () => Promise.all(Object.values(clients).map((c) => c.close())) };
}

function type(client: Client, text: string): void {
  const t = client.doc.getText('t');
  t.insert(t.length, text);
}

describe('members detect a lying relay', () => {
  it('withheld ops: the member kept behind is told, holds its new edits on the device, and sends them under the new epoch once the ops come; the others are told it is behind', async () => {
    const adversary = new HostileRelay();
    const { t, clients, errors, close } = await team(['alice', 'bob', 'carol'], adversary);
    const { alice, bob, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
    // From now on Carol is shown no membership op, and told the log is as long as hers.
    const hers = carol.group.log.length;
    adversary.policy = (member, direction, m) => {
      if (member !== 'carol' || direction !== 'down') return 'pass';
      if (m.type === 'ops') return 'drop';
      return m.type === 'have' ? { replace: { ...m, logLength: hers } } : 'pass';
    };
    await t.change('remove', 'bob', alice);
    type(alice, 'after the removal. ');
    await eventually(() => told(carol, ['alice']).includes('withheld-ops:alice'), 3000, 'Carol is told the ops are withheld');
    const withheld = carol.sealed.alarms.find((e) => e.code === 'withheld-ops')!;
    assert.ok(withheld instanceof SyncError && withheld.heads.length === 2);
    // Carol types: held on her device, not sealed for the old epoch's members.
    type(carol, 'Carol, while kept behind. ');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(carol.sealed.pending > 0, 'her edit waits');
    assert.ok(!alice.text().includes('Carol'), 'nothing of it left her device');
    await eventually(() => told(alice, ['carol']).includes('member-behind:carol'), 3000, 'Alice is told Carol is kept behind');
    // The relay lets the ops through: Carol catches up, and her edit goes under the new epoch.
    adversary.policy = () => 'pass';
    await eventually(() => alice.text().includes('Carol, while kept behind.') && carol.text().includes('after the removal.'), 5000, 'Carol catches up and her edit arrives');
    await eventually(() => carol.sealed.alarms.length === 0, 3000, 'her alarm is resolved');
    const carolsEpochs = carol.sealed.envelopes().map((e) => readEnvelopeHeader(e)).filter((h) => toHex(h.author) === toHex(carol.identity.memberId)).map((h) => h.epoch);
    assert.ok(carolsEpochs.length > 0 && carolsEpochs.every((e) => e === alice.group.log.epoch), `sealed under the new epoch only: ${carolsEpochs}`);
    assert.ok(!bob.text().includes('Carol'), 'the removed member reads none of it');
    assert.ok(errors.get('carol')!.some((e) => e instanceof SyncError && e.code === 'withheld-ops'), 'reported as an error event');
    await close();
    adversary.close();
  });

  it('an edit sealed under a head the group left long ago names its author as kept behind, even when the relay hides the author’s beacons', async () => {
    const adversary = new HostileRelay();
    const { t, clients, close } = await team(['alice', 'bob', 'carol'], adversary);
    const { alice, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
    // Carol is shown nothing new at all, and her beacons go nowhere: only her edits speak for her.
    const hers = carol.group.log.length;
    adversary.policy = (member, direction, m) => {
      if (member !== 'carol') return 'pass';
      if (direction === 'up') return m.type === 'beacon' ? 'drop' : 'pass';
      if (m.type === 'ops' || m.type === 'beacon' || m.type === 'deliver' || m.type === 'envelope') return 'drop';
      return m.type === 'have' ? { replace: { ...m, logLength: hers } } : 'pass';
    };
    await t.change('remove', 'bob', alice);
    await new Promise((r) => setTimeout(r, BEACONS.withholdMs + 200));
    type(carol, 'from the old epoch');
    await eventually(() => told(alice, ['carol']).includes('member-behind:carol'), 3000, 'Alice is told Carol is kept behind');
    await close();
    adversary.close();
  });

  it('a member removed without being shown its removal: the relay refusing it as no member is taken as a withheld op, not ignored', async () => {
    const adversary = new HostileRelay();
    const { t, clients, close } = await team(['alice', 'bob', 'carol'], adversary);
    const { alice, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
    // A refusal of a push of another group (one transport serves many) says nothing of this one.
    carol.transport.events.emit('error', { error: new RelayError('not-a-member', 'removed from another group', 9, 'ab'.repeat(16)) });
    type(carol, 'while a member. ');
    await eventually(() => alice.text().includes('while a member.'), 3000, 'not held');
    adversary.policy = (member, direction, m) => (member === 'carol' && direction === 'down' && m.type === 'ops' ? 'drop' : 'pass');
    await t.change('remove', 'carol', alice);
    await new Promise((r) => setTimeout(r, 300)); // the relay holds the removal
    type(carol, 'after my removal, unknowingly');
    await eventually(() => carol.sealed.alarms.some((e) => e.code === 'withheld-ops'), 3000, 'Carol is told');
    assert.ok(carol.sealed.pending > 0, `what she types next stays on her device: ${carol.sealed.pending} ${carol.errors.join()}`);
    await close();
    adversary.close();
  });

  it('withheld envelopes: a member shown less than another holds is told, naming who holds it', async () => {
    const adversary = new HostileRelay();
    const { clients, close } = await team(['alice', 'bob', 'carol'], adversary);
    const { alice, bob, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
    const aliceId = toHex(alice.identity.memberId);
    adversary.policy = (member, direction, m) => {
      if (member !== 'carol' || direction !== 'down') return 'pass';
      const envelope = m.type === 'deliver' || m.type === 'envelope' ? m.envelope : undefined;
      return envelope && toHex(readEnvelopeHeader(envelope).author) === aliceId && readEnvelopeHeader(envelope).kind !== 'awareness' ? 'drop' : 'pass';
    };
    type(alice, 'hidden from Carol');
    await eventually(() => bob.text() === 'hidden from Carol', 2000);
    await eventually(() => carol.sealed.alarms.some((e) => e.code === 'withheld-envelopes'), 3000, 'Carol is told');
    const alarm = carol.sealed.alarms.find((e) => e.code === 'withheld-envelopes')!;
    assert.ok([aliceId, toHex(bob.identity.memberId)].includes(alarm.member!), 'it names a member who holds them');
    assert.ok((alarm.count ?? 0) >= 1);
    assert.deepEqual(alice.sealed.alarms, [], 'Alice, who is shown everything, is told nothing');
    await close();
    adversary.close();
  });

  it('pushes the relay drops: their author is told they are not acknowledged, and they go again once the relay behaves', async () => {
    const adversary = new HostileRelay();
    const { clients, close } = await team(['alice', 'bob'], adversary);
    const { alice, bob } = clients as Record<'alice' | 'bob', Client>;
    adversary.policy = (member, direction, m) => (member === 'alice' && direction === 'up' && m.type === 'push' ? 'drop' : 'pass');
    type(alice, 'dropped on the way');
    await eventually(() => alice.sealed.alarms.some((e) => e.code === 'unacknowledged'), 3000, 'Alice is told');
    assert.ok(alice.sealed.pending > 0);
    adversary.policy = () => 'pass';
    await eventually(() => bob.text() === 'dropped on the way', 3000, 'offered again, it arrives');
    await eventually(() => alice.sealed.pending === 0 && !alice.sealed.alarms.some((e) => e.code === 'unacknowledged'), 3000, 'acknowledged, resolved');
    await close();
    adversary.close();
  });

  it('a fork (two relays, one admin on each side changing the members) is told on both sides, naming both heads', async () => {
    const adversary = new HostileRelay(2);
    for (const name of ['carol', 'dave']) adversary.side.set(name, 1);
    const { clients, close } = await team(['alice', 'bob', 'carol', 'dave'], adversary, { dave: 'admin' });
    const c = clients as Record<'alice' | 'bob' | 'carol' | 'dave', Client>;
    await c.alice.group.rotate();
    await c.dave.group.rotate();
    const started = Date.now();
    for (const name of ['alice', 'bob', 'carol', 'dave'] as const)
      await eventually(() => c[name].sealed.alarms.some((e) => e.code === 'fork'), 15_000, `${name} is told of the fork`);
    assert.ok(Date.now() - started < 15_000);
    const fork = c.carol.sealed.alarms.find((e) => e.code === 'fork')!;
    assert.equal(fork.heads.length, 2);
    assert.notEqual(fork.heads[0], fork.heads[1]);
    assert.equal(fork.heads[0], toHex(c.carol.group.log.headAt(fork.length!)!));
    await close();
    adversary.close();
  });

  it('a relay that shows a member no one else: told it may be partitioned after the freshness bound; the others are not', async () => {
    const adversary = new HostileRelay();
    const { clients, close } = await team(['alice', 'bob', 'carol'], adversary);
    const { alice, bob, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
    adversary.policy = (member, direction, m) => (member === 'carol' && direction === 'down' && (m.type === 'beacon' || m.type === 'envelope' || m.type === 'deliver') ? 'drop' : 'pass');
    await eventually(() => carol.sealed.alarms.some((e) => e.code === 'partition-suspected'), 4000, 'Carol is told');
    assert.ok(!alice.sealed.alarms.some((e) => e.code === 'partition-suspected'));
    assert.ok(!bob.sealed.alarms.some((e) => e.code === 'partition-suspected'));
    // Once the others are seen again, it is resolved.
    adversary.policy = () => 'pass';
    await eventually(() => !carol.sealed.alarms.some((e) => e.code === 'partition-suspected'), 3000, 'resolved');
    await close();
    adversary.close();
  });

  it('a membership change the relay never answers fails with a typed timeout instead of waiting for ever; the log stays as it was', async () => {
    const adversary = new HostileRelay();
    const t = await Team.create(['alice', 'bob']);
    const alice = await t.connect('alice', 'ws://adversary', { WebSocket: adversary.socketFor('alice'), beacons: BEACONS, requestTimeoutMs: 300 });
    await alice.sealed.whenSynced;
    adversary.policy = (_member, direction, m) => (direction === 'up' && m.type === 'commit-ops' ? 'drop' : 'pass');
    const length = alice.group.log.length;
    await assert.rejects(alice.group.rotate(), (e: Error) => e.name === 'TransportError' && (e as { code?: string }).code === 'timeout');
    assert.equal(alice.group.log.length, length);
    await alice.close();
    adversary.close();
  });

  it('duplicated, reordered and replayed messages raise nothing and lose nothing', async () => {
    const adversary = new HostileRelay();
    const { clients, errors, close } = await team(['alice', 'bob', 'carol'], adversary);
    let n = 0;
    adversary.policy = () => (n++ % 5 === 0 ? 'duplicate' : n % 7 === 0 ? { delayMs: 50 } : 'pass');
    for (let i = 0; i < 20; i++) for (const name of ['alice', 'bob', 'carol']) type(clients[name]!, `${name}${i} `);
    await eventually(() => new Set(Object.values(clients).map((c) => c.text())).size === 1 && clients.alice!.text().length > 0, 5000, 'all converge');
    await new Promise((r) => setTimeout(r, 800));
    for (const [name, list] of errors) assert.deepEqual(list.map((e) => `${e.name}:${(e as { code?: string }).code}`), [], name);
    await close();
    adversary.close();
  });
});


/**
 * Alice's tablet (a certified device) in a group of Alice, Bob and Carol; Alice revokes it
 * while the relay hides the revocation (and every op after it) from Carol and from the tablet,
 * lies to them about the log's length, and forwards what the tablet pushes to Carol alone.
 */
async function hiddenRevocation() {
  const adversary = new HostileRelay();
  const { clients, errors, close } = await team(['alice', 'bob', 'carol'], adversary);
  const { alice, bob, carol } = clients as Record<'alice' | 'bob' | 'carol', Client>;
  const cert = await certified(identity('alice'), 'Tablet');
  await alice.group.addDevice(cert.certificate);
  const tablet = await connectDevice(cert, alice.group.log.ops(), adversary, 'tablet', BEACONS);
  await tablet.sealed.whenSynced;
  type(tablet, 'tablet, before. ');
  await eventually(() => [alice, bob, carol].every((c) => c.text() === 'tablet, before. '), 3000, 'the tablet writes');
  const lengths: Record<string, number> = { carol: carol.group.log.length, tablet: tablet.group.log.length };
  // The relay's refusal of the revoked tablet, and its closing the tablet's socket, are hidden from it.
  adversary.holdOpen.add('tablet');
  adversary.policy = (member, direction, m) => {
    if (member === 'tablet' && direction === 'down' && m.type === 'error') return 'drop';
    if (member === 'tablet' && direction === 'up' && m.type === 'push') {
      adversary.replay('carol', { type: 'envelope', envelope: m.envelope });
      return 'drop';
    }
    if (!(member in lengths) || direction !== 'down') return 'pass';
    if (m.type === 'ops') return 'drop';
    return m.type === 'have' && m.logLength > lengths[member]! ? { replace: { ...m, logLength: lengths[member]! } } : 'pass';
  };
  const started = Date.now();
  await alice.group.revokeDevice(cert.keys.memberId);
  type(alice, 'Alice, after. ');
  return { adversary, alice, bob, carol, tablet, errors, started, close: async () => Promise.all([close(), tablet.close()]).then(() => adversary.close()) };
}

describe('a revoked device and a lying relay', () => {
  it('a revocation the relay hides from a member and from the revoked device: the member is told within the bound; the others never take the device’s new edits, nor does the member once shown the revocation', async () => {
    const { adversary, bob, carol, tablet, started, close } = await hiddenRevocation();
    type(tablet, 'tablet, unaware. ');
    await eventually(() => carol.sealed.alarms.some((e) => e.code === 'withheld-ops'), 3000, 'Carol is told');
    assert.ok(Date.now() - started < BEACONS.withholdMs + 4 * BEACONS.intervalMs + 1000, `told in ${Date.now() - started} ms`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!bob.text().includes('tablet, unaware.'), 'Bob, shown the revocation, never takes it');
    // The relay behaves: Carol catches up and learns of the revocation; the tablet too.
    adversary.policy = () => 'pass';
    adversary.releaseHeld();
    const revokedAt = bob.group.log.length;
    await eventually(() => carol.group.log.length >= revokedAt, 3000, 'Carol holds the revocation');
    type(tablet, 'tablet, late. ');
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(!carol.text().includes('tablet, late.') && !bob.text().includes('tablet, late.'), 'nothing the tablet writes once revoked is taken');
    await close();
  });

  it(
    'a member that took a revoked device’s edits while the relay hid the revocation goes on once shown it: what it writes then reaches the others, and no alarm stays',
    async () => {
      const { adversary, bob, carol, tablet, close } = await hiddenRevocation();
      try {
        type(tablet, 'tablet, unaware. ');
        await eventually(() => carol.text().includes('tablet, unaware.'), 3000, 'forwarded to Carol');
        await eventually(() => carol.sealed.alarms.some((e) => e.code === 'withheld-ops'), 3000, 'Carol is told');
        // The relay behaves: Carol catches up, and offers the relay what she holds.
        adversary.policy = () => 'pass';
        adversary.releaseHeld();
        const revokedAt = bob.group.log.length;
        await eventually(() => carol.group.log.length >= revokedAt, 3000, 'Carol holds the revocation');
        await new Promise((r) => setTimeout(r, 1000));
        // At the start: an edit Yjs builds on none of the tablet's (what a member writes after
        // the revoked device's edits reaches no one who lacks them: lasting_divergence).
        carol.doc.getText('t').insert(0, 'Carol, once shown the revocation. ');
        await eventually(() => bob.text().includes('Carol, once shown the revocation.'), 5000, 'Carol’s edit reaches Bob');
        await eventually(() => carol.sealed.alarms.length === 0 && carol.sealed.pending === 0, 3000, 'no alarm stays on Carol, nothing waits');
      } finally {
        await close();
      }
    },
  );
});

describe('a lying relay, randomized (short run of npm run hostile)', () => {
  for (const scenario of RELAY_SCENARIOS) {
    it(`${scenario}: no silent divergence, nothing undetected`, async () => {
      const result = await runRelayScenario(scenario, { runs: 3 });
      assert.deepEqual({ silent: result.silent_divergences, undetected: result.undetected }, { silent: 0, undetected: 0 }, JSON.stringify(result));
    });
  }
  for (const scenario of DEVICE_SCENARIOS) {
    it(`${scenario}: no silent divergence, nothing undetected`, async () => {
      const result = await runDeviceScenario(scenario, { runs: 3 });
      assert.deepEqual({ silent: result.silent_divergences, undetected: result.undetected }, { silent: 0, undetected: 0 }, JSON.stringify(result));
    });
  }
});
