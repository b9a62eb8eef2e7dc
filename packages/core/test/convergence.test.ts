// Randomized convergence, as Yjs's applyRandomTests: several peers edit at random, go offline
// and back, members are added, removed and keys rotated, and the network drops, duplicates
// and reorders messages; resync heals it. At the end every current member holds the same
// text and no removed member applied anything sealed after its removal. Fixed seeds, half of
// them with since-join history; SEALDOC_LONG=1 runs more peers, more edits and more seeds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readEnvelopeHeader } from '@sealdoc/crypto';
import { prng } from '../../../test/support/prng.js';
import { World, toHex, identity } from './helpers.js';

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
