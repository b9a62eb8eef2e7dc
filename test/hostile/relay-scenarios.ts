// The hostile-relay scenarios of `npm run hostile`: members with sealed documents work through
// a relay that lies (adversary.ts), in randomized runs: 3 to 5 members, edits, adds, removals
// and rotations, offline spells, while the relay drops, duplicates, reorders, replays, rolls
// back, forks, or withholds ops or envelopes from one member. Then the relay behaves, every
// member reconnects, and the run is judged:
// - a silent divergence: current members hold different documents and none of them was told;
// - undetected: the relay forked or withheld, and no member was told within the bound.
// Bounds are scaled down so that runs are short (beacons every 100 ms, 500 ms to deliver what
// they show exists); the defaults are 10 s and 30 s.
import { MembershipError, MembershipLog, readEnvelopeHeader, toHex } from '@sealdoc/crypto';
import { SyncError } from '@sealdoc/core';
import { MemoryRelayStore } from '@sealdoc/relay';
import type { WireMessage } from '@sealdoc/protocol';
import { DOC_ID, identity, Team, type Client } from '../../packages/relay/test/clients.js';
import { prng } from '../support/prng.js';
import { HostileRelay, type Verdict } from './adversary.js';

export const RELAY_SCENARIOS = ['drop', 'duplicate', 'reorder', 'replay', 'rollback', 'fork', 'withhold-ops', 'withhold-envelopes'] as const;
export type RelayScenario = (typeof RELAY_SCENARIOS)[number];

/** One scenario's figures over its runs, as `npm run hostile -- --json` prints them. */
export interface RelayScenarioResult {
  scenario: RelayScenario;
  runs: number;
  silent_divergences: number;
  undetected: number;
  /** The longest time from the relay's first lie to a member being told, over the runs where it forked or withheld (ms). */
  detect_ms_max: number;
  /** Seeds of the runs that failed, to run again. */
  failed_seeds: number[];
}

const BEACONS = { intervalMs: 100, withholdMs: 500, freshnessMs: 5000 };
/**
 * How long, past the relay's first lie, a member must be told: the scaled withholding bound and
 * a beacon each way; for a victim removed meanwhile, whom the relay rightly shows nothing more,
 * the freshness bound; 15 s for a fork.
 */
export const DETECT_BOUND_MS = {
  withhold: BEACONS.withholdMs + 4 * BEACONS.intervalMs + 1000,
  removedVictim: BEACONS.freshnessMs + 4 * BEACONS.intervalMs + 1000,
  fork: 15_000,
};
const ACTIVE_MS = 700;
const SETTLE_MS = 6000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  diverged: boolean;
  told: boolean;
  acted: boolean;
  detectMs: number | undefined;
  /** The bound detection had to meet. */
  boundMs: number;
}

/** Runs `scenario` `runs` times (seeds from `firstSeed`), `concurrency` at once. */
export async function runRelayScenario(scenario: RelayScenario, options: { runs: number; firstSeed?: number; concurrency?: number }): Promise<RelayScenarioResult> {
  const result: RelayScenarioResult = { scenario, runs: 0, silent_divergences: 0, undetected: 0, detect_ms_max: 0, failed_seeds: [] };
  const seeds = Array.from({ length: options.runs }, (_, i) => (options.firstSeed ?? 1) + i);
  const work = async () => {
    for (let seed = seeds.shift(); seed !== undefined; seed = seeds.shift()) {
      const run = await oneRun(scenario, seed);
      result.runs++;
      const silent = run.diverged && !run.told;
      const undetected = run.acted && (run.detectMs === undefined || run.detectMs > run.boundMs);
      if (silent) result.silent_divergences++;
      if (undetected) result.undetected++;
      if (silent || undetected) result.failed_seeds.push(seed);
      if (run.acted && run.detectMs !== undefined) result.detect_ms_max = Math.max(result.detect_ms_max, Math.round(run.detectMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, work));
  return result;
}

/** One randomized run of `scenario` with `seed`. */
async function oneRun(scenario: RelayScenario, seed: number): Promise<Run> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const forked = scenario === 'fork';
  const adversary = new HostileRelay(forked ? 2 : 1);
  const size = 3 + Math.floor(random() * 3);
  const names = Array.from({ length: size }, (_, i) => `s${seed}-m${i}`);
  // In a fork the second admin sits on the other side.
  const admins = forked ? [names[0]!, names[size - 1]!] : [names[0]!];
  if (forked) for (const name of names.slice(Math.ceil(size / 2))) adversary.side.set(name, 1);
  const team = await Team.create(names, Object.fromEntries(admins.slice(1).map((n) => [n, 'admin' as const])));
  const clients = new Map<string, Client>();
  const told = new Map<string, number>(); // member -> when first told
  let firstLie: number | undefined;
  const connect = async (name: string, ops = team.ops) => {
    const client = await team.connect(name, 'ws://adversary', { WebSocket: adversary.socketFor(name), beacons: BEACONS, ops, requestTimeoutMs: 1000 });
    client.sealed.events.on('error', ({ error }) => {
      if (error instanceof SyncError || (error instanceof MembershipError && (error.code === 'fork' || error.code === 'truncated'))) if (!told.has(name)) told.set(name, Date.now());
    });
    clients.set(name, client);
    return client;
  };
  try {
    for (const name of names) await connect(name);
    await Promise.all([...clients.values()].map((c) => Promise.race([c.sealed.whenSynced, sleep(2000)])));

    // The lie, from now on.
    const victim = pick(names.filter((n) => !admins.includes(n)));
    const recorded: { member: string; message: WireMessage }[] = [];
    let withheldAuthor: string | undefined;
    adversary.policy = (member, direction, message): Verdict => {
      const lie = (verdict: Verdict): Verdict => {
        firstLie ??= Date.now();
        return verdict;
      };
      if (isHandshake(message)) return 'pass';
      switch (scenario) {
        case 'drop':
          return random() < 0.15 ? lie('drop') : 'pass';
        case 'duplicate':
          return random() < 0.3 ? lie('duplicate') : 'pass';
        case 'reorder':
          return random() < 0.3 ? lie({ delayMs: Math.floor(random() * 150) }) : 'pass';
        case 'replay':
          if (direction === 'down') recorded.push({ member, message });
          if (direction === 'down' && recorded.length > 5 && random() < 0.2) {
            const old = pick(recorded.filter((r) => r.member === member));
            if (old) setTimeout(() => adversary.replay(member, old.message), 0);
            firstLie ??= Date.now();
          }
          return 'pass';
        case 'withhold-ops': {
          if (member !== victim || direction !== 'down') return 'pass';
          if (message.type === 'ops') return lie('drop');
          // It says the log is no longer than the victim's.
          const hers = clients.get(victim)?.group.log.length ?? 0;
          return message.type === 'have' && message.logLength > hers ? lie({ replace: { ...message, logLength: hers } }) : 'pass';
        }
        case 'withhold-envelopes': {
          if (member !== victim || direction !== 'down') return 'pass';
          const envelope = message.type === 'deliver' || message.type === 'envelope' ? message.envelope : undefined;
          const header = envelope && readEnvelopeHeader(envelope);
          if (!header || header.kind === 'awareness') return 'pass'; // presence goes through
          withheldAuthor ??= toHex(header.author);
          return toHex(header.author) === withheldAuthor ? lie('drop') : 'pass';
        }
        default:
          return 'pass';
      }
    };

    // Work: edits, membership changes, offline spells.
    const until = Date.now() + ACTIVE_MS;
    let added = 0;
    let rolledBack = false;
    let changed = false;
    const snapshot = scenario === 'rollback' ? await copyStore(adversary.stores[0]!, team) : undefined;
    while (Date.now() < until) {
      const roll = random();
      const name = pick([...clients.keys()]);
      const client = clients.get(name)!;
      if (roll < 0.7) {
        const text = client.doc.getText('t');
        text.insert(Math.floor(random() * (text.length + 1)), `${name.slice(-2)}${Math.floor(random() * 100)} `);
      } else if (roll < 0.8) {
        const admin = clients.get(pick(admins))!;
        await change(admin, random, async () => {
          const newcomer = `s${seed}-n${added++}`;
          await admin.group.addMember(identity(newcomer), 'writer');
          await connect(newcomer, admin.group.log.ops());
        }).catch(() => undefined); // refused (stale-head, a cutoff): another try later
        changed = true;
        if (forked && firstLie === undefined && !sameLog(clients.get(admins[0]!)!, clients.get(admins[1]!)!)) firstLie = Date.now();
      } else if (roll < 0.85 && client.transport.status === 'online') {
        void client.transport.disconnect().then(() => sleep(50 + random() * 200)).then(() => client.transport.connect());
      } else if (scenario === 'rollback' && !rolledBack && snapshot) {
        rolledBack = true;
        adversary.restart(0, await snapshot());
      }
      await sleep(10 + random() * 40);
    }
    // A fork needs both admins to have changed the members on their sides; withholding ops, a change to withhold.
    if (forked) {
      for (const admin of admins) await clients.get(admin)!.group.rotate().catch(() => undefined);
      firstLie ??= Date.now();
    } else if (scenario === 'withhold-ops' && !changed) await clients.get(admins[0]!)!.group.rotate().catch(() => undefined);

    // A relay that withholds goes on for the bound past its last lie: what it delivers within
    // the bound is late, not withheld.
    if (scenario === 'withhold-ops' || scenario === 'withhold-envelopes') await sleep(DETECT_BOUND_MS.withhold);
    // The relay behaves again (a fork stays a fork); everyone reconnects and settles.
    if (!forked) adversary.policy = () => 'pass';
    for (const client of clients.values()) await client.transport.connect();
    for (const client of clients.values()) client.sealed.resync();
    const settleUntil = Date.now() + SETTLE_MS;
    let diverged = true;
    while (Date.now() < settleUntil) {
      await sleep(100);
      diverged = divergent(clients);
      if (!diverged && (firstLie === undefined || !['fork', 'withhold-ops', 'withhold-envelopes'].includes(scenario) || told.size > 0)) break;
    }
    const acted = ['fork', 'withhold-ops', 'withhold-envelopes'].includes(scenario) && firstLie !== undefined && (scenario === 'fork' || adversary.acted.drop + adversary.acted.replace > 0);
    const firstTold = Math.min(...told.values());
    const victimRemoved = !clients.get(admins[0]!)!.group.log.member(identity(victim).memberId);
    const boundMs = forked ? DETECT_BOUND_MS.fork : victimRemoved ? DETECT_BOUND_MS.removedVictim : DETECT_BOUND_MS.withhold;
    return { diverged, told: told.size > 0, acted, detectMs: acted && told.size > 0 ? Math.max(0, firstTold - firstLie!) : undefined, boundMs };
  } finally {
    adversary.policy = () => 'pass';
    await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
    adversary.close();
  }
}

/** An admin's change to the members: a removal of a writer, a rotation, or an add (`add`). */
async function change(admin: Client, random: () => number, add: () => Promise<void>): Promise<void> {
  const roll = random();
  const writers = admin.group.log.members().filter((m) => m.role !== 'admin');
  if (roll < 0.4 && writers.length > 1) return admin.group.removeMember(writers[Math.floor(random() * writers.length)]!.memberId);
  if (roll < 0.7) return admin.group.rotate();
  return add();
}

/** Whether two members hold the same membership log. */
function sameLog(a: Client, b: Client): boolean {
  return a.group.log.length === b.group.log.length && toHex(a.group.log.head) === toHex(b.group.log.head);
}

/** Whether current members (as each sees itself) hold different documents. */
function divergent(clients: Map<string, Client>): boolean {
  const texts = new Set<string>();
  for (const c of clients.values()) if (c.group.role !== undefined) texts.add(c.text());
  return texts.size > 1;
}

function isHandshake(message: WireMessage): boolean {
  return ['challenge', 'hello', 'welcome', 'subscribe', 'ping', 'pong'].includes(message.type);
}

/** A copy of what the relay's store holds now (the group's log and the document), to restart from later: a rollback. */
async function copyStore(store: MemoryRelayStore, team: Team): Promise<() => Promise<MemoryRelayStore>> {
  const ops = await store.loadOps(team.groupId);
  const envelopes = await store.envelopesAfter(team.groupId, DOC_ID, 0, 1_000_000);
  return async () => {
    const copy = new MemoryRelayStore();
    const log = await MembershipLog.fromOps(ops);
    await copy.appendOps(team.groupId, 0, ops, { authors: ops.map((_, i) => log.opAt(i).author), joined: log.members().map((m) => m.memberId), left: [] });
    await copy.putEnvelopes(envelopes.map(({ cursor: _cursor, ...e }) => e));
    return copy;
  };
}

