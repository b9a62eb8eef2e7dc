// Randomized convergence, as Yjs's applyRandomTests: several peers edit at random, go offline
// and back, members are added, removed and keys rotated, and the network drops, duplicates
// and reorders messages; resync heals it. At the end every current member holds the same
// text and no removed member applied anything sealed after its removal. Fixed seeds, half of
// them with since-join history; SEALDOC_LONG=1 runs more peers, more edits and more seeds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openEnvelope, readEnvelopeHeader } from '@sealdoc/crypto';
import type { Group } from '@sealdoc/core';
import { prng } from '../../../test/support/prng.js';
import { certifiedDevice, DeviceWorld, World, toHex, identity, tokensOf, type DevicePeer } from './helpers.js';

const env: Record<string, string | undefined> = typeof process !== 'undefined' ? process.env : {};
const LONG = env.SEALDOC_LONG === '1';
const SEEDS = LONG ? [101, 102, 103, 104, 105, 106, 107, 108] : [1, 2, 3, 10];
const STEPS = LONG ? 5000 : Number(env.STEPS ?? 800);
const PEERS = LONG ? 8 : 4;

async function run(seed: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pool = Array.from({ length: PEERS + 2 }, (_, i) => `p${i}`);
  const founders = pool.slice(0, PEERS);
  // Even seeds run a since-join group: newcomers read history only through snapshots.
  const history = seed % 2 === 0 ? 'since-join' : 'all';
  const world = await World.create(founders, { seed, history, faults: { drop: 0.1, duplicate: 0.05, reorder: 0.1, delay: [0, 2] } });
  // Epoch at which each removed peer was removed (the first epoch it may not read).
  const removedAt = new Map<string, number>();
  let edits = 0;
  const errors = new Map<string, string[]>();
  const watch = (name: string) => world.peer(name).sealed.events.on('error', ({ error }) => errors.set(name, [...(errors.get(name) ?? []), `${error.name}:${(error as { code?: string }).code}:${error.message}`]));
  for (const name of founders) watch(name);

  for (let step = 0; step < STEPS; step++) {
    const r = random();
    const joined = [...world.peers.keys()];
    if (r < 0.86) {
      const name = pick(joined);
      const text = world.peer(name).doc.getText('t');
      if (text.length > 0 && random() < 0.25) text.delete(Math.floor(random() * text.length), 1 + Math.floor(random() * Math.min(3, text.length)));
      else text.insert(Math.floor(random() * (text.length + 1)), `${name}.${step};`);
      edits++;
    } else if (r < 0.91) {
      const t = world.peer(pick(joined.slice(1))).transport;
      if (t.status === 'online') await t.disconnect();
      else await t.connect();
    } else if (r < 0.95) {
      const candidates = pool.slice(1);
      const name = pick(candidates);
      const deliverTo = joined.filter(() => random() < 0.5);
      if (world.isMember(name) && random() < 0.6) {
        // Without a relay to order a removal against the member's last edits, the member is
        // cut off the network, the cutoff is what a relay that saw everything would record,
        // and the member learns of it at once (otherwise honest peers could apply its edits
        // before they learn of the removal, and diverge from those who refuse them).
        if (world.peers.has(name)) await world.peer(name).transport.disconnect();
        await world.hub.flush();
        const cutoff = world.highestSeqOf(name);
        await world.change('remove', name, [...deliverTo, 'p0', name], { cutoff });
        removedAt.set(name, world.epoch);
      } else if (!world.isMember(name)) {
        await world.change('add', name, [...deliverTo, 'p0']);
        removedAt.delete(name);
        if (!world.peers.has(name)) {
          await world.join(name);
          watch(name);
        }
      } else {
        await world.change('rotate', name, [...deliverTo, 'p0']);
      }
    } else {
      await world.settle(1);
    }
  }

  // Heal: no more faults, everyone online, resync until quiet.
  world.hub.setFaults({});
  for (const p of world.peers.values()) await p.transport.connect();
  const members = [...world.peers.keys()].filter((n) => world.isMember(n));
  let texts: string[] = [];
  // Resync until the members agree (bounded): a large document takes several rounds.
  for (let round = 0; round < 40; round++) {
    await world.settle(2);
    texts = members.map((n) => world.peer(n).text());
    if (new Set(texts).size === 1) break;
  }
  assert.equal(
    new Set(texts).size,
    1,
    `seed ${seed}: ${members.length} members diverge:\n${texts.map((t, i) => `${members[i]}: ${t.slice(0, 120)} (errors: ${(errors.get(members[i]!) ?? []).slice(0, 3).join(', ')})`).join('\n')}`,
  );
  assert.ok(edits > STEPS / 2 && texts[0]!.length > 0, `seed ${seed}: ${edits} edits, text ${texts[0]!.length} long`);

  for (const [name, epoch] of removedAt) {
    const peer = world.peers.get(name);
    if (!peer) continue;
    const mine = toHex(identity(name).memberId);
    const late = peer.sealed
      .envelopes()
      .map((e) => readEnvelopeHeader(e))
      .filter((h) => h.epoch >= epoch && toHex(h.author) !== mine);
    assert.deepEqual(late.map((h) => h.epoch), [], `seed ${seed}: ${name}, removed at epoch ${epoch}, applied later envelopes`);
  }
}

describe('randomized convergence (fixed seeds)', () => {
  for (const seed of SEEDS) it(`seed ${seed} (${seed % 2 === 0 ? 'since-join' : 'all'} history): ${PEERS} peers, ${STEPS} steps`, () => run(seed));
});

// Persons with devices ("no edit lost"): three persons with one to three devices each (the
// first device of each its identity key pair, the others certified devices) all write at
// random, go offline while typing and come back, over the same faulty network. Meanwhile
// devices are certified into the group by another device of their person, a device is
// revoked by another device of its person, a person is removed and another added (each with
// its devices), and the group is rotated. Membership ops are made by the devices' own groups,
// one at a time on the log as a stand-in relay holds it; as in the suite above, a device or
// person about to be cut off is off the network when the op is made, the cutoff is past what
// the network carried of each device (what a relay that saw everything would record), and
// the victims learn of it at once. At the end, every device still in the group holds the
// same document; every edit of a device still in the group, and every edit the network
// carried that the final log accepts, is in it (edits are tokens in a Y.Array that nothing
// deletes); no nonce was used twice nor a (device, sequence number) for two envelopes; a
// revoked or removed device was told so ('access-removed', `revoked` or not), holds nothing
// sealed under an epoch after its revocation and no edit made after (by a device that knew of
// it), and nothing it typed after it knew reaches the others; no error event anywhere. An
// edit a cut-off device sealed offline and had not sent is not expected anywhere: it never
// leaves the device (by design). Even seeds run a since-join group. SEALDOC_LONG=1 runs more
// steps and seeds; DEVICE_SEEDS=1,2,3 and DEVICE_STEPS=n choose others.
const DEVICE_SEEDS = env.DEVICE_SEEDS ? env.DEVICE_SEEDS.split(',').map(Number) : LONG ? [201, 202, 203, 204, 205, 206, 207, 208] : [21, 22, 23];
const DEVICE_STEPS = Number(env.DEVICE_STEPS ?? (LONG ? 600 : 150));

type Churn = 'certify' | 'revoke' | 'remove' | 'add' | 'rotate';

async function runDevices(seed: number): Promise<Record<Churn, number>> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const someOf = <T>(items: readonly T[]): T[] => items.filter(() => random() < 0.5);
  const history = seed % 2 === 0 ? 'since-join' : 'all';
  const world = await DeviceWorld.create(
    [
      { name: 'a', devices: 1 + Math.floor(random() * 3), role: 'admin' },
      { name: 'b', devices: 1 + Math.floor(random() * 3) },
      { name: 'c', devices: 1 + Math.floor(random() * 3) },
    ],
    { seed, history, faults: { drop: 0.1, duplicate: 0.05, reorder: 0.1, delay: [0, 2] } },
  );
  const a0 = world.device('a0');
  // Every edit: its token, who made it, and how long the maker's log was then.
  const made = new Map<string, { device: string; logLength: number }>();
  // Devices cut off (revoked, or their person removed): the index of the op, its epoch, and whether it was a revocation.
  const cutOff = new Map<string, { index: number; epoch: number; revoked: boolean }>();
  const errors = new Map<string, string[]>();
  // What each device was told first of its access going ('access-removed').
  const told = new Map<string, { revoked: boolean }>();
  const watch = (d: DevicePeer) => {
    d.sealed.events.on('error', ({ error }) => {
      const code = (error as { code?: string }).code;
      errors.set(d.name, [...(errors.get(d.name) ?? []), `${error.name}:${code}:${error.message}`]);
    });
    d.sealed.events.on('access-removed', ({ revoked }) => {
      if (!told.has(d.name)) told.set(d.name, { revoked });
    });
  };
  for (const d of world.devices.values()) watch(d);
  const done: Record<Churn, number> = { certify: 0, revoke: 0, remove: 0, add: 0, rotate: 0 };
  // Every kind of churn happens, in an order of the seed's, at random steps.
  const plan = (['certify', 'certify', 'revoke', 'remove', 'add', 'rotate', 'certify', 'revoke'] as Churn[]).sort(() => random() - 0.5);
  const persons = ['a', 'b', 'c'];
  const cut = async (victims: DevicePeer[], by: string, revoked: boolean, change: (g: Group) => Promise<void>) => {
    for (const v of victims) await v.transport.disconnect();
    await world.hub.flush();
    const index = await world.act(by, change, [...someOf([...world.devices.keys()]), 'a0', ...victims.map((v) => v.name)]);
    for (const v of victims) cutOff.set(v.name, { index, epoch: world.relayLog.epoch, revoked });
  };
  const churn = async (kind: Churn): Promise<boolean> => {
    const members = persons.filter((p) => world.isMember(p));
    switch (kind) {
      case 'certify': {
        const person = pick(members);
        const by = pick(world.currentDevicesOf(person));
        const device = await certifiedDevice(world.personIdentity(person), 'new');
        await world.act(by.name, (g) => g.addDevice(device.certificate), [...someOf([...world.devices.keys()]), 'a0']);
        watch(await world.join(person, device));
        return true;
      }
      case 'revoke': {
        const eligible = members.filter((p) => world.currentDevicesOf(p).some((d) => d.signer !== world.personIdentity(p)));
        if (eligible.length === 0) return false;
        const person = pick(eligible);
        const devices = world.currentDevicesOf(person);
        const victim = pick(devices.filter((d) => d.signer !== world.personIdentity(person)));
        const by = pick(devices.filter((d) => d !== victim));
        await cut([victim], by.name, true, (g) => g.revokeDevice(victim.keys.memberId));
        return true;
      }
      case 'remove': {
        const candidates = members.filter((p) => p !== 'a');
        if (candidates.length < 2) return false;
        const person = pick(candidates);
        const by = pick(world.currentDevicesOf('a'));
        await cut(world.currentDevicesOf(person), by.name, false, (g) => g.removeMember(world.personIdentity(person).memberId));
        return true;
      }
      case 'add': {
        const person = String.fromCharCode('a'.charCodeAt(0) + persons.length);
        const id = world.personIdentity(person);
        const extra = random() < 0.7 ? [await certifiedDevice(id, 'phone')] : [];
        const by = pick(world.currentDevicesOf('a'));
        await world.act(by.name, (g) => g.addMember(id, 'writer', extra.map((d) => d.certificate)), [...someOf([...world.devices.keys()]), 'a0']);
        persons.push(person);
        for (const signer of [id, ...extra]) watch(await world.join(person, signer));
        return true;
      }
      case 'rotate': {
        await world.act(pick(world.currentDevicesOf('a')).name, (g) => g.rotate(), [...someOf([...world.devices.keys()]), 'a0']);
        return true;
      }
    }
  };

  for (let step = 0; step < DEVICE_STEPS; step++) {
    const r = random();
    const names = [...world.devices.keys()];
    if (r < 0.84) {
      // Any device types, a cut-off one too (its edits must reach no one).
      const d = world.device(pick(names));
      const token = `${d.name}#${step}`;
      made.set(token, { device: d.name, logLength: d.group.log.length });
      d.doc.transact(() => {
        const text = d.doc.getText('t');
        if (text.length > 0 && random() < 0.25) text.delete(Math.floor(random() * text.length), 1 + Math.floor(random() * Math.min(3, text.length)));
        else text.insert(Math.floor(random() * (text.length + 1)), `${d.name}.${step};`);
        d.doc.getArray<string>('edits').push([token]);
      });
      // Sometimes sealed at once (otherwise batched until a settle), and time passes.
      if (random() < 0.3) d.sealed.flush().catch((error: Error) => errors.set(d.name, [...(errors.get(d.name) ?? []), `flush: ${error.message}`]));
      if (random() < 0.1) await new Promise((resolve) => setTimeout(resolve, 1));
    } else if (r < 0.9) {
      // An offline spell begins or ends (a0 stays online, as p0 above).
      const t = world.device(pick(names.filter((n) => n !== 'a0'))).transport;
      if (t.status === 'online') await t.disconnect();
      else await t.connect();
    } else if (r < 0.95 && plan.length > 0 && step > DEVICE_STEPS / 10) {
      // The next churn of the plan, or (when it cannot happen yet) later.
      const kind = plan.shift()!;
      if (await churn(kind)) done[kind]++;
      else plan.push(kind);
    } else {
      await world.settle(1);
    }
  }
  // Churn the steps did not get to happens now, before the heal.
  for (const kind of plan) if (await churn(kind)) done[kind]++;

  // Heal: no more faults, every device online (cut-off ones too: what they sent before stays
  // theirs to serve), resync until the devices still in the group agree.
  world.hub.setFaults({});
  const current = [...world.devices.values()].filter((d) => world.isCurrent(d.name));
  for (const d of world.devices.values()) await d.transport.connect();
  // Cut-off devices serve what they sent before, then leave (they would only ask, again and
  // again, for what they can no longer read).
  await world.settle(1);
  for (const d of world.devices.values()) if (!current.includes(d)) await d.transport.disconnect();
  const editsOf = (d: DevicePeer) => [...new Set(d.doc.getArray<string>('edits').toArray())].sort();
  const stateOf = (d: DevicePeer) => `${d.text()}\n${editsOf(d).join(',')}`;
  let states: string[] = [];
  for (let round = 0; round < 40; round++) {
    await world.settle(2);
    states = current.map(stateOf);
    if (new Set(states).size === 1) break;
  }
  const detail = (d: DevicePeer) => `${d.name}: ${d.text().slice(0, 80)} (${editsOf(d).length} edits; errors: ${(errors.get(d.name) ?? []).slice(0, 3).join(', ')})`;
  assert.equal(new Set(states).size, 1, `seed ${seed}: ${current.length} current devices diverge:\n${current.map(detail).join('\n')}`);
  assert.equal(world.relayLog.length, a0.group.log.length, `seed ${seed}: a0 holds the whole log`);
  const edits = new Set(editsOf(current[0]!));

  // Nothing lost: every edit of a device still in the group, and every edit in an envelope
  // the network carried that the final log accepts (a cut-off device's, sent in time).
  const expected = new Set([...made].filter(([, m]) => current.some((d) => d.name === m.device)).map(([t]) => t));
  const context = a0.group.log.envelopeContext(a0.group.keyring, { docId: world.docId, kinds: ['update'] });
  let carried = 0;
  for (const bytes of world.hub.envelopes()) {
    if (readEnvelopeHeader(bytes).kind !== 'update') continue;
    const opened = await openEnvelope(bytes, context).catch(() => undefined);
    if (!opened) continue;
    carried++;
    for (const token of tokensOf(opened.plaintext)) expected.add(token);
  }
  const lost = [...expected].filter((t) => !edits.has(t));
  assert.deepEqual(lost, [], `seed ${seed}: edits lost (of ${expected.size} expected, ${carried} envelopes carried)`);
  assert.ok(made.size > DEVICE_STEPS / 2 && edits.size > DEVICE_STEPS / 3, `seed ${seed}: ${made.size} edits made, ${edits.size} in the document`);

  // No nonce reused, no (device, sequence number) used for two envelopes.
  assert.deepEqual(world.hub.reusedNonces, [], `seed ${seed}: nonces reused`);
  assert.deepEqual(world.hub.seqCollisions(), [], `seed ${seed}: sequence numbers used twice`);

  // Cut-off devices: nothing sealed after, nothing made after (by a device that knew), and
  // what they typed once they knew reaches no one.
  for (const [name, { index, epoch, revoked }] of cutOff) {
    const d = world.device(name);
    assert.deepEqual(told.get(name), { revoked }, `seed ${seed}: ${name} was told it was ${revoked ? 'revoked' : 'removed'}`);
    const mine = toHex(d.keys.memberId);
    const late = d.sealed
      .envelopes()
      .map((e) => readEnvelopeHeader(e))
      .filter((h) => h.epoch >= epoch && toHex(h.author) !== mine);
    assert.deepEqual(late.map((h) => `${toHex(h.author).slice(0, 8)}:${h.seq}@${h.epoch}`), [], `seed ${seed}: ${name}, cut off at epoch ${epoch}, holds later envelopes`);
    const read = editsOf(d).filter((t) => made.get(t)!.device !== name && made.get(t)!.logLength > index);
    assert.deepEqual(read, [], `seed ${seed}: ${name}, cut off at op ${index}, reads edits made after`);
    const leaked = [...edits].filter((t) => made.get(t)!.device === name && made.get(t)!.logLength > index);
    assert.deepEqual(leaked, [], `seed ${seed}: ${name}'s edits typed after it was cut off reached the others`);
  }

  assert.deepEqual([...told.keys()].filter((n) => !cutOff.has(n)), [], `seed ${seed}: devices told of a removal that did not happen`);

  // No error anywhere.
  assert.deepEqual(Object.fromEntries(errors), {}, `seed ${seed}: error events (cut off: ${[...cutOff.keys()].join(', ')}; current: ${current.map((d) => d.name).join(', ')})`);
  for (const kind of Object.keys(done) as Churn[]) assert.ok(done[kind] > 0, `seed ${seed}: no ${kind} happened`);
  for (const d of world.devices.values()) await d.sealed.destroy();
  return done;
}

describe('randomized convergence of persons with devices (fixed seeds)', () => {
  for (const seed of DEVICE_SEEDS)
    it(`seed ${seed} (${seed % 2 === 0 ? 'since-join' : 'all'} history): 3 persons × 1–3 devices, devices certified and revoked, a person removed and one added, ${DEVICE_STEPS} steps`, () => runDevices(seed).then(() => undefined));
});
