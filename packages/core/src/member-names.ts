/**
 * The names members give themselves, kept in the group's document so that every member sees
 * the same "Alice", online or not, and sealed with it under the group's keys (the relay reads
 * none of them).
 *
 * A Y.Map inside the document alone would let any writer rename anyone, so each entry is a
 * record signed by the device that set it: group id, person, device, a counter (ms) and the
 * name, under the signature context "member-name". A reader takes an entry only when its key
 * is the person it names, its device is a current device of that person in the membership log
 * (a removed member's or a revoked device's later rename is never taken), its signature holds,
 * and its counter is above the last one taken for that person (an older record of the same
 * person written back by someone else rolls nothing back). A member can thus set only its own
 * name; what a hostile writer can still do is overwrite an entry with something that does not
 * verify (readers keep the name they had; the person's own device writes its record again)
 * and pick a misleading name of its own.
 * @module
 */
import type * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { equalBytes, signMessage, verifyMessage } from '@sealdoc/crypto';
import { hex, unhex } from './bytes.js';
import { Emitter } from './events.js';
import type { Group } from './group.js';

/** The Y.Map of the document that holds the signed name records, by person id (hex). */
export const MEMBER_NAMES_FIELD = 'sealdoc:names';
/** The longest name taken, in characters (UTF-16 code units). */
export const MAX_NAME_LENGTH = 64;

const CONTEXT = 'member-name';
const VERSION = 1;
const SIGNATURE_LENGTH = 64;

/** A name a member gave itself, as verified. */
export interface MemberName {
  /** Member id of the person (hex). */
  person: string;
  /** The device that signed it (hex). */
  device: string;
  name: string;
  /** Its counter: ms since 1970 when it was set, above every earlier name of that person. */
  at: number;
}

/** Events of {@link MemberNames}: `change` when the name taken for a person changes (or is no longer valid). */
export type MemberNamesEvents = { change: { person: string; name: string | undefined } };

/**
 * - `bad-name`: empty once trimmed, longer than {@link MAX_NAME_LENGTH}, or holding control characters.
 * - `not-a-writer`: this device may not write in the group (a reader, or no longer a member), so its name cannot travel.
 */
export type MemberNameErrorCode = 'bad-name' | 'not-a-writer';

/** A name that cannot be set: see {@link MemberNameErrorCode}. */
export class MemberNameError extends Error {
  readonly code: MemberNameErrorCode;
  constructor(code: MemberNameErrorCode, message: string) {
    super(message);
    this.name = 'MemberNameError';
    this.code = code;
  }
}

/** `name` trimmed, or undefined when it is no name a person could be shown by. */
function cleanName(name: string): string | undefined {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex
  return trimmed.length > 0 && trimmed.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed) ? trimmed : undefined;
}

function signedPart(groupId: Uint8Array, person: Uint8Array, device: Uint8Array, at: number, name: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeUint8(encoder, VERSION);
  encoding.writeVarUint8Array(encoder, groupId);
  encoding.writeVarUint8Array(encoder, person);
  encoding.writeVarUint8Array(encoder, device);
  encoding.writeVarUint(encoder, at);
  encoding.writeVarString(encoder, name);
  return encoding.toUint8Array(encoder);
}

/** The fields of a record, or undefined when it is not one (its signature not checked yet). */
function decodeRecord(bytes: Uint8Array): { signed: Uint8Array; signature: Uint8Array; groupId: Uint8Array; person: Uint8Array; device: Uint8Array; at: number; name: string } | undefined {
  if (bytes.length <= SIGNATURE_LENGTH) return undefined;
  const signed = bytes.subarray(0, bytes.length - SIGNATURE_LENGTH);
  try {
    const decoder = decoding.createDecoder(signed);
    if (decoding.readUint8(decoder) !== VERSION) return undefined;
    const groupId = decoding.readVarUint8Array(decoder);
    const person = decoding.readVarUint8Array(decoder);
    const device = decoding.readVarUint8Array(decoder);
    const at = decoding.readVarUint(decoder);
    const name = decoding.readVarString(decoder);
    if (decoding.hasContent(decoder)) return undefined;
    return { signed, signature: bytes.subarray(bytes.length - SIGNATURE_LENGTH), groupId, person, device, at, name };
  } catch {
    return undefined; // truncated or damaged
  }
}

/**
 * The verified names of a group's members, read from (and, for this member, written to) the
 * Y.Map {@link MEMBER_NAMES_FIELD} of `doc`, the group's sealed document. See the module's
 * description for what is checked.
 */
export class MemberNames {
  readonly events = new Emitter<MemberNamesEvents>();
  readonly #doc: Y.Doc;
  readonly #group: Group;
  readonly #map: Y.Map<Uint8Array>;
  readonly #taken = new Map<string, MemberName>();
  /** The record this device wrote last, and its counter: written again while the entry holds nothing newer of this person. */
  #mine: { record: Uint8Array; at: number } | undefined;
  #checking: Promise<void> = Promise.resolve();
  readonly #stop: (() => void)[] = [];

  constructor(doc: Y.Doc, group: Group) {
    this.#doc = doc;
    this.#group = group;
    this.#map = doc.getMap<Uint8Array>(MEMBER_NAMES_FIELD);
    const observer = (event: Y.YMapEvent<Uint8Array>) => this.#check([...event.keysChanged]);
    this.#map.observe(observer);
    this.#stop.push(() => this.#map.unobserve(observer));
    this.#stop.push(group.events.on('membership', () => this.#recheck()));
    this.#check([...this.#map.keys()]);
  }

  /** Resolves once every entry seen so far has been checked. */
  get checked(): Promise<void> {
    return this.#checking;
  }

  /** The verified name of person `person` (member id, hex), if one was taken. */
  get(person: string): MemberName | undefined {
    return this.#taken.get(person);
  }

  /** Every verified name, by person (member id, hex). */
  all(): Map<string, string> {
    return new Map([...this.#taken].map(([person, { name }]) => [person, name]));
  }

  /**
   * Sets this member's own name in the group: a record signed by this device, written into
   * the document (sealed and sent with it). Resolves once written here; does nothing when the
   * name taken already is this one.
   */
  async set(name: string): Promise<void> {
    const clean = cleanName(name);
    if (clean === undefined) throw new MemberNameError('bad-name', `a name has 1 to ${MAX_NAME_LENGTH} characters and no control characters`);
    const group = this.#group;
    if (group.role !== 'admin' && group.role !== 'writer') throw new MemberNameError('not-a-writer', 'this device may not write in the group');
    await this.#checking;
    const person = hex(group.personId);
    const previous = this.#taken.get(person);
    if (previous?.name === clean) return;
    // Above every earlier record of this person, whatever this device's clock says.
    const at = Math.max(Date.now(), (previous?.at ?? 0) + 1);
    const signed = signedPart(group.groupId, group.personId, group.deviceId, at, clean);
    const record = new Uint8Array(signed.length + SIGNATURE_LENGTH);
    record.set(signed);
    record.set(await signMessage(group.keys, CONTEXT, signed), signed.length);
    this.#mine = { record, at };
    this.#doc.transact(() => this.#map.set(person, record));
    await this.#checking;
  }

  /** Stops following the document and the group. */
  destroy(): void {
    for (const stop of this.#stop.splice(0)) stop();
    this.events.clear();
  }

  /** Checks the entries of `keys`, one batch after the other (so that counters compare in order). */
  #check(keys: string[]): void {
    this.#checking = this.#checking.then(async () => {
      for (const key of keys) await this.#checkEntry(key);
    });
  }

  /** The membership changed: names whose device left are dropped, and every entry is checked again. */
  #recheck(): void {
    this.#checking = this.#checking.then(() => {
      for (const [person, taken] of this.#taken) {
        const device = this.#group.log.device(unhex(taken.device));
        if (!device || hex(device.personId) !== person) {
          this.#taken.delete(person);
          this.events.emit('change', { person, name: undefined });
        }
      }
    });
    this.#check([...this.#map.keys()]);
  }

  async #checkEntry(key: string): Promise<void> {
    const bytes = this.#map.get(key);
    const record = bytes instanceof Uint8Array ? await this.#verify(key, bytes) : undefined;
    const taken = this.#taken.get(key);
    if (record && (!taken || record.at > taken.at)) {
      this.#taken.set(key, record);
      if (record.name !== taken?.name) this.events.emit('change', { person: key, name: record.name });
    }
    // This member's own entry holds nothing as new as what this device wrote (a concurrent
    // write won, or someone overwrote it): written again, now after what is there. A newer
    // record of this person (from its other device) is left in place.
    const mine = this.#mine;
    if (mine && key === hex(this.#group.personId) && !(record && record.at >= mine.at)) {
      if (this.#group.role === 'admin' || this.#group.role === 'writer') this.#doc.transact(() => this.#map.set(key, mine.record));
    } else if (mine && key === hex(this.#group.personId)) this.#mine = record && record.at > mine.at ? undefined : mine;
  }

  /** The record of entry `key` when it verifies (see the module's description). */
  async #verify(key: string, bytes: Uint8Array): Promise<MemberName | undefined> {
    const r = decodeRecord(bytes);
    if (!r || !equalBytes(r.groupId, this.#group.groupId) || hex(r.person) !== key || cleanName(r.name) !== r.name) return undefined;
    const device = r.device.length === 32 ? this.#group.log.device(r.device) : undefined;
    if (!device || !equalBytes(device.personId, r.person)) return undefined;
    if (!(await verifyMessage(device.signingPublicKey, CONTEXT, r.signed, r.signature))) return undefined;
    return { person: key, device: hex(r.device), name: r.name, at: r.at };
  }
}
