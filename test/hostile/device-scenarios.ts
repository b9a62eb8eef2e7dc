// The device scenarios of `npm run hostile`: a person with a second device (certified by its
// identity) in a group of 3 to 5 persons with sealed documents, working through a relay that
// lies (adversary.ts); the person's identity device revokes the second device, and then:
// - revoked-replay: the revoked device kept its keys (and the epoch secrets it held). It seals
//   new edits past its cutoff under heads it knew (the last one before its revocation, an
//   older one, or the revocation's own head with its old epoch), and the relay forwards them
//   to members who hold the revocation, along with replays of its old envelopes. Every member
//   must refuse each new one with a typed error (`past-cutoff`, `wrong-epoch`); the replays
//   must change nothing.
// - revoked-forge: the same device seals new edits at its next sequence numbers, which are
//   within the cutoff the revocation recorded (the highest number the relay held of it, and a
//   margin: core's CUTOFF_MARGIN) under its last head; the relay forwards them to members who
//   hold the revocation. docs/security.md says clients accept these when a hostile relay
//   passes them on: this scenario measures it.
// - hide-revocation: the relay withholds the revocation (and every op after it) from some
//   members (the victims) and from the revoked device, lies about the log's length to them,
//   and keeps forwarding the revoked device's new edits to the victims (the honest relay
//   would refuse them). The victims must be told (a SyncError) within the bound. The device's
//   edits sealed after its revocation may reach a victim before it is told (the documented
//   delay: taken_in_window); after it is told and before it holds the revocation they are
//   counted apart (taken_after_told: the victim has an alarm up, so not silent); once it
//   holds the revocation, or untold past the bound, or reaching a member the relay did not
//   lie to, they are silent.
// Judged, per run:
// - a silent divergence: a member's document silently took an edit the revoked device sealed
//   after its revocation (revoked-*: any, the member held the revocation; hide-revocation: as
//   above); or, at the end, current members hold different documents and none was told;
// - undetected: revoked-*, a member shown a new envelope of the revoked device raised no typed
//   refusal for it; hide-revocation, a victim not told within the bound.
// Also reported, not judged: runs that end with current members holding different documents
// (told or not), members whose own edits still wait on the device with an alarm up once the
// relay behaved for the whole settle (stuck), and the envelopes of the revoked device members
// offered the relay again once it behaved (refused: past-cutoff).
import * as Y from 'yjs';
import {
  certifyDevice,
  EnvelopeError,
  Keyring,
  MembershipError,
  MembershipLog,
  newDeviceKeys,
  readEnvelopeHeader,
  requestDeviceCertificate,
  sealEnvelope,
  toHex,
  unlockEpochSecrets,
  type CertifiedDevice,
} from '@sealdoc/crypto';
import { SyncError } from '@sealdoc/core';
import { DOC_ID, identity, openClient, Team, type Client } from '../../packages/relay/test/clients.js';
import { prng } from '../support/prng.js';
import { HostileRelay, type Verdict } from './adversary.js';
import { DETECT_BOUND_MS } from './relay-scenarios.js';

export const DEVICE_SCENARIOS = ['revoked-replay', 'revoked-forge', 'hide-revocation'] as const;
export type DeviceScenario = (typeof DEVICE_SCENARIOS)[number];

/** One scenario's figures over its runs, as `npm run hostile -- --json` prints them. */
export interface DeviceScenarioResult {
  scenario: DeviceScenario;
  runs: number;
  silent_divergences: number;
  undetected: number;
  /** The longest time from the relay's first lie to a member being told (a refusal, or a SyncError), over the runs (ms). */
  detect_ms_max: number;
  /** New envelopes of the revoked device (sealed after its revocation) the relay showed members, over the runs (one per member shown). */
  revoked_shown: number;
  /** Of those, how many a member refused with a typed error. */
  revoked_refused: number;
  /** Edits sealed after the revocation that a member's document took: within the allowed delay (hide-revocation, before a victim is told). */
  taken_in_window: number;
  /** … after the victim was told (withheld-ops), before it held the revocation: not silent, counted apart. */
  taken_after_told: number;
  /** … silently (the member held the revocation, or no victim of the lie, or untold past the bound): each makes its run a silent divergence. */
  taken_silently: number;
  /** Runs whose current members, at the end, hold different documents (told or not). */
  lasting_divergence: number;
  /** Members (over the runs) whose own edits still wait on the device, an alarm up, after the relay behaved for the whole settle. */
  stuck_members: number;
  /** Envelopes of the revoked device that members offered the relay again once it behaved, refused (past-cutoff). */
  reoffered_refused: number;
  /** Seeds of the runs that failed, to run again. */
  failed_seeds: number[];
}

const BEACONS = { intervalMs: 100, withholdMs: 500, freshnessMs: 5000 };
const ACTIVE_MS = 700;
const SETTLE_MS = 6000;
const DEVICE = 'dev';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  shown: number;
  refused: number;
  takenInWindow: number;
  takenSilently: number;
  takenAfterTold: number;
  stuck: number;
  reoffered: number;
  /** Members shown a new envelope of the revoked device and refusing fewer than shown, or victims not told in time. */
  missed: number;
  diverged: boolean;
  told: boolean;
  detectMs: number | undefined;
}

/** Runs `scenario` `runs` times (seeds from `firstSeed`), `concurrency` at once. */
export async function runDeviceScenario(scenario: DeviceScenario, options: { runs: number; firstSeed?: number; concurrency?: number }): Promise<DeviceScenarioResult> {
  const result: DeviceScenarioResult = {
    scenario,
    runs: 0,
    silent_divergences: 0,
    undetected: 0,
    detect_ms_max: 0,
    revoked_shown: 0,
    revoked_refused: 0,
    taken_in_window: 0,
    taken_after_told: 0,
    taken_silently: 0,
    lasting_divergence: 0,
    stuck_members: 0,
    reoffered_refused: 0,
    failed_seeds: [],
  };
  const seeds = Array.from({ length: options.runs }, (_, i) => (options.firstSeed ?? 1) + i);
  const work = async () => {
    for (let seed = seeds.shift(); seed !== undefined; seed = seeds.shift()) {
      const run = await oneRun(scenario, seed);
      result.runs++;
      const silent = run.takenSilently > 0 || (run.diverged && !run.told);
      const undetected = run.missed > 0;
      if (silent) result.silent_divergences++;
      if (undetected) result.undetected++;
      if (silent || undetected) result.failed_seeds.push(seed);
      if (run.diverged) result.lasting_divergence++;
      result.revoked_shown += run.shown;
      result.revoked_refused += run.refused;
      result.taken_in_window += run.takenInWindow;
      result.taken_after_told += run.takenAfterTold;
      result.taken_silently += run.takenSilently;
      result.stuck_members += run.stuck;
      result.reoffered_refused += run.reoffered;
      if (run.detectMs !== undefined) result.detect_ms_max = Math.max(result.detect_ms_max, Math.round(run.detectMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, work));
  return result;
}

/** A device of `person`: fresh key pairs, certified by the identity. */
export async function certified(person: ReturnType<typeof identity>, label: string): Promise<CertifiedDevice> {
  const keys = newDeviceKeys();
  return { keys, certificate: await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label)), person };
}

/** What one member was told: typed refusals of envelopes, and SyncErrors, with when. */
interface Heard {
  refusals: { at: number; code: string }[];
  syncErrors: { at: number; code: string }[];
}

/** One randomized run of `scenario` with `seed`. */
async function oneRun(scenario: DeviceScenario, seed: number): Promise<Run> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const adversary = new HostileRelay();
  const size = 3 + Math.floor(random() * 3);
  const names = Array.from({ length: size }, (_, i) => `s${seed}-m${i}`);
  const admin = names[0]!;
  const person = pick(names); // whose second device is revoked
  const team = await Team.create(names);
  const clients = new Map<string, Client>();
  const heard = new Map<string, Heard>();
  const listen = (name: string, client: Client) => {
    const h: Heard = { refusals: [], syncErrors: [] };
    heard.set(name, h);
    client.sealed.events.on('error', ({ error }) => {
      if (error instanceof EnvelopeError) h.refusals.push({ at: Date.now(), code: error.code });
      else if (error instanceof SyncError || (error instanceof MembershipError && (error.code === 'fork' || error.code === 'truncated'))) h.syncErrors.push({ at: Date.now(), code: error.code });
    });
  };
  const connect = async (name: string) => {
    const client = await team.connect(name, 'ws://adversary', { WebSocket: adversary.socketFor(name), beacons: BEACONS, requestTimeoutMs: 1000 });
    clients.set(name, client);
    listen(name, client);
    return client;
  };
  const tag = `s${seed}`;
  // Edits sealed after the revocation, by marker: the revoked device's own (hide-revocation) or forged (revoked-*).
  const markers: string[] = [];
  // member -> marker -> when its document took it
  const took = new Map<string, Map<string, number>>();
  const watchTaking = (name: string, client: Client) => {
    took.set(name, new Map());
    client.doc.on('afterTransaction', () => {
      if (markers.length === 0) return;
      const text = client.text();
      const mine = took.get(name)!;
      for (const m of markers) if (!mine.has(m) && text.includes(m)) mine.set(m, Date.now());
    });
  };
  let device: Client | undefined;
  try {
    for (const name of names) await connect(name);
    const owner = clients.get(person)!;
    const cert = await certified(identity(person), `${tag} tablet`);
    await owner.group.addDevice(cert.certificate);
    device = await connectDevice(cert, owner.group.log.ops(), adversary);
    listen(DEVICE, device);
    for (const [name, c] of clients) watchTaking(name, c);
    await Promise.all([...clients.values(), device].map((c) => Promise.race([c.sealed.whenSynced, sleep(2000)])));

    // Work, the device included (and a rotation, sometimes: the device knows more than one head), until everyone holds the same document.
    const everyone = () => [...clients.values(), ...(device ? [device] : [])];
    type(device, 'dv '); // at least once: its revocation records a cutoff past what the relay holds of it (none, were it silent)
    for (let i = 0; i < 8 + Math.floor(random() * 8); i++) {
      const c = pick(everyone());
      type(c, `${c === device ? 'dv' : c.name.slice(-2)}${i} `);
      if (i === 4 && random() < 0.5) await clients.get(admin)!.group.rotate().catch(() => undefined);
      await sleep(5 + random() * 30);
    }
    const converged = Date.now() + 3000;
    while (Date.now() < converged && (new Set(everyone().map((c) => c.text())).size > 1 || everyone().some((c) => c.sealed.pending > 0))) await sleep(20);

    // What the device keeps once revoked: its keys, the epoch secrets it held, the heads it
    // knew, and its envelopes (to replay).
    const deviceId = cert.keys.memberId;
    const known = await MembershipLog.fromOps(device.group.log.ops());
    const stolen = new Keyring();
    await unlockEpochSecrets(known, cert.keys, stolen);
    let addedAt = known.length - 1;
    while (addedAt > 0 && known.opAt(addedAt).change.type !== 'certify-device') addedAt--;
    const heads = Array.from({ length: known.length - addedAt }, (_, i) => ({ head: known.headAt(addedAt + 1 + i)!, epoch: known.opAt(addedAt + i).epoch }));
    const lastHead = heads.at(-1)!;
    const old = device.sealed.envelopes().filter((e) => toHex(readEnvelopeHeader(e).author) === toHex(deviceId));
    const highest = Math.max(-1, ...old.map((e) => readEnvelopeHeader(e).seq));

    const run: Run = { shown: 0, refused: 0, takenInWindow: 0, takenSilently: 0, takenAfterTold: 0, stuck: 0, reoffered: 0, missed: 0, diverged: false, told: false, detectMs: undefined };
    if (scenario === 'hide-revocation') await hideRevocation();
    else await revokedDevice();
    return run;

    /** revoked-replay and revoked-forge: the revocation reaches everyone; the device's keys go on. */
    async function revokedDevice(): Promise<void> {
      await device!.close();
      device = undefined;
      await owner.group.revokeDevice(deviceId);
      const revokedAt = owner.group.log.length; // everyone must hold this many ops
      const revocation = owner.group.log.opAt(revokedAt - 1).change;
      if (revocation.type !== 'revoke-device') throw new Error('the last op is not the revocation');
      const cutoff = revocation.cutoff ?? -1;
      const holding = Date.now() + 3000;
      while (Date.now() < holding && [...clients.values()].some((c) => c.group.log.length < revokedAt)) await sleep(10);
      const shownTo = new Map<string, number>(); // member -> distinct new envelopes shown
      let firstLie: number | undefined;
      let forged = 0;
      let seqs = 0;
      const forge = async () => {
        const marker = `F${tag}.${forged++}|`;
        markers.push(marker);
        const edit = new Y.Doc();
        edit.getText('t').insert(0, marker);
        // revoked-replay: past the cutoff, under a head it knew, or the revocation's head with its old epoch; revoked-forge: its next numbers, under its last head.
        const variant = scenario === 'revoked-forge' ? 'next' : pick(['last-head', 'older-head', 'new-head'] as const);
        const at = variant === 'older-head' ? pick(heads) : lastHead;
        const head = variant === 'new-head' ? owner.group.log.headAt(revokedAt)! : at.head;
        const seq = variant === 'next' ? highest + 1 + seqs++ : cutoff + 1 + seqs++;
        const envelope = await sealEnvelope({ kind: 'update', groupId: team.groupId, docId: DOC_ID, epoch: at.epoch, seq, head, author: cert.keys, keyring: stolen, plaintext: Y.encodeStateAsUpdate(edit) });
        const to = [...clients.keys()].filter(() => random() < 0.7);
        if (to.length === 0) to.push(pick([...clients.keys()]));
        firstLie ??= Date.now();
        for (const member of to) {
          // Shown only to members who hold the revocation (a relay that hides it is hide-revocation).
          if (clients.get(member)!.group.log.length < revokedAt) continue;
          adversary.replay(member, { type: 'envelope', envelope });
          if (random() < 0.2) adversary.replay(member, { type: 'envelope', envelope }); // and again
          shownTo.set(member, (shownTo.get(member) ?? 0) + 1);
          run.shown++;
        }
      };
      const until = Date.now() + ACTIVE_MS;
      while (Date.now() < until) {
        const roll = random();
        if (roll < 0.3) await forge();
        else if (roll < 0.5 && old.length > 0) {
          const member = pick([...clients.keys()]);
          adversary.replay(member, { type: 'envelope', envelope: pick(old) }); // a replay of an old one: changes nothing
          firstLie ??= Date.now();
        } else if (roll < 0.55) await clients.get(admin)!.group.rotate().catch(() => undefined); // the heads move on
        else {
          const c = pick([...clients.values()]);
          type(c, `${c.name.slice(-2)}${Math.floor(random() * 100)} `);
        }
        await sleep(10 + random() * 40);
      }
      if (forged === 0) await forge();
      await settle();
      for (const [name, h] of heard) {
        const shown = shownTo.get(name) ?? 0;
        if (shown === 0) continue;
        const refused = Math.min(shown, h.refusals.length);
        run.refused += refused;
        if (refused < shown) run.missed++;
        if (h.refusals[0] && firstLie !== undefined) run.detectMs = Math.max(run.detectMs ?? 0, h.refusals[0].at - firstLie);
      }
      for (const [, mine] of took) run.takenSilently += mine.size; // any: it was sealed after the revocation, and the member held it
      run.told = [...heard.values()].some((h) => h.refusals.length + h.syncErrors.length > 0);
    }

    /** hide-revocation: the relay hides the revocation from the victims and from the device, and forwards the device's new edits to the victims. */
    async function hideRevocation(): Promise<void> {
      const others = names.filter((n) => n !== person);
      const victims = others.filter(() => random() < 0.6);
      if (victims.length === 0) victims.push(pick(others));
      const hidden = new Set([...victims, DEVICE]);
      let firstLie: number | undefined;
      let revoked = false;
      const hers = new Map([...hidden].map((n) => [n, (n === DEVICE ? device! : clients.get(n)!).group.log.length]));
      adversary.policy = (member, direction, message): Verdict => {
        if (!revoked) return 'pass';
        const lie = (verdict: Verdict): Verdict => {
          firstLie ??= Date.now();
          return verdict;
        };
        // The relay's refusal of the device (device-revoked) does not reach it; nor does its closing the socket (holdOpen).
        if (member === DEVICE && direction === 'down' && message.type === 'error') return lie('drop');
        if (member === DEVICE && direction === 'up' && message.type === 'push') {
          // Not to the relay (which would refuse it): to the victims.
          for (const v of victims) adversary.replay(v, { type: 'envelope', envelope: message.envelope });
          return lie('drop');
        }
        if (!hidden.has(member) || direction !== 'down') return 'pass';
        if (message.type === 'ops') return lie('drop');
        return message.type === 'have' && message.logLength > hers.get(member)! ? lie({ replace: { ...message, logLength: hers.get(member)! } }) : 'pass';
      };
      const holdAt = new Map<string, number>(); // member -> when its log took the revocation
      const revokedAt = owner.group.log.length + 1;
      for (const [name, c] of clients)
        c.group.events.on('membership', ({ length }) => {
          if (length >= revokedAt && !holdAt.has(name)) holdAt.set(name, Date.now());
        });
      revoked = true;
      adversary.holdOpen.add(DEVICE);
      await owner.group.revokeDevice(deviceId);
      firstLie ??= Date.now();
      const lieStarted = firstLie;
      // The others go on (the person first, under the new head); the device, unaware, too.
      type(owner, `after the revocation ${tag}. `);
      let k = 0;
      const deviceTypes = () => {
        const marker = `R${tag}.${k++}|`;
        markers.push(marker);
        type(device!, marker);
      };
      const until = Date.now() + ACTIVE_MS;
      while (Date.now() < until) {
        if (random() < 0.3) deviceTypes();
        else {
          const c = pick([...clients.values()]);
          type(c, `${c.name.slice(-2)}${Math.floor(random() * 100)} `);
        }
        await sleep(10 + random() * 40);
      }
      // The relay goes on for the bound past its last lie, the device typing on.
      const bound = Date.now() + DETECT_BOUND_MS.withhold;
      while (Date.now() < bound) {
        deviceTypes();
        await sleep(100);
      }
      // The device's edits typed from now on are refused by the relay, and it learns of its revocation.
      await settle();
      for (const v of victims) {
        const h = heard.get(v)!;
        const toldAt = h.syncErrors[0]?.at;
        if (toldAt === undefined || toldAt - lieStarted > DETECT_BOUND_MS.withhold) run.missed++;
        if (toldAt !== undefined) run.detectMs = Math.max(run.detectMs ?? 0, toldAt - lieStarted);
      }
      for (const [name, mine] of took) {
        const toldAt = heard.get(name)!.syncErrors[0]?.at ?? Infinity;
        const heldAt = holdAt.get(name) ?? Infinity;
        for (const [, at] of mine) {
          // (What the relay forwarded just before it behaved may land just after: judged the same.)
          const allowed = victims.includes(name) && at < toldAt && at < heldAt && at - lieStarted <= DETECT_BOUND_MS.withhold;
          const afterTold = victims.includes(name) && at >= toldAt && at < heldAt;
          if (allowed) run.takenInWindow++;
          else if (afterTold) run.takenAfterTold++;
          else run.takenSilently++;
        }
      }
      run.told = [...heard.values()].some((h) => h.syncErrors.length > 0);
    }

    /** The relay behaves; everyone reconnects and settles; current members' documents are compared. */
    async function settle(): Promise<void> {
      // The relay behaves; it counts what members offer it again of the revoked device (refused: past-cutoff).
      adversary.policy = (member, direction, message) => {
        if (member !== DEVICE && direction === 'down' && message.type === 'error' && message.code === 'past-cutoff') run.reoffered++;
        return 'pass';
      };
      adversary.releaseHeld();
      for (const c of clients.values()) await c.transport.connect();
      for (const c of clients.values()) c.sealed.resync();
      const until = Date.now() + SETTLE_MS;
      run.diverged = true;
      while (Date.now() < until) {
        await sleep(100);
        run.diverged = divergent(clients);
        if (!run.diverged) break;
      }
      await sleep(300); // what is parked or refused late
      // A member whose own edits still wait on its device, an alarm up, after the relay behaved for the whole settle.
      for (const c of clients.values()) if (c.group.role !== undefined && c.sealed.pending > 0 && c.sealed.alarms.length > 0) run.stuck++;
    }
  } finally {
    adversary.policy = () => 'pass';
    await Promise.all([...clients.values(), ...(device ? [device] : [])].map((c) => c.close().catch(() => undefined)));
    adversary.close();
  }
}

function type(client: Client, text: string): void {
  const t = client.doc.getText('t');
  t.insert(t.length, text);
}

/** Whether current members (as each sees itself) hold different documents. */
function divergent(clients: Map<string, Client>): boolean {
  const texts = new Set<string>();
  for (const c of clients.values()) if (c.group.role !== undefined) texts.add(c.text());
  return texts.size > 1;
}

/** A certified device's client on the adversary, its socket opened for `name` (Team.connect opens identities only). */
export async function connectDevice(device: CertifiedDevice, ops: Uint8Array[], adversary: HostileRelay, name = DEVICE, beacons = BEACONS): Promise<Client> {
  return openClient(name, device, ops, { url: 'ws://adversary', WebSocket: adversary.socketFor(name), requestTimeoutMs: 1000 }, { beacons });
}
