/**
 * Frames the relay forwards and never stores: sealed awareness (cursors, presence) and members'
 * signed head beacons. Each is checked as a push would be, as far as the relay can without a
 * key: only from a current member, only its own (an awareness envelope's signature and author
 * against the log; a beacon signed by the key its sender said hello with), then sent, as the
 * bytes received, to the document's other subscribers that have room for it, here and, on a
 * store shared by several relay nodes, on the other nodes (postgres-presence.ts). One for a
 * group the relay does not know yet is dropped.
 *
 * Where the check is made: on the node the frame arrived at, once; a node that hears of a frame
 * from another forwards it as it is. Nodes on one database trust each other wholly already:
 * each serves whatever envelopes and ops any of them stored, so a check made again on the
 * receiving node would guard against nothing a node could not do anyway, and would cost a
 * signature verification per frame on every node. The sending node checks against the same
 * database the receiving one would (a removal reaches both through the same notifications), and
 * the receiving node sends the frame only to its subscribers of the document, who were members
 * when they subscribed and lose their subscriptions when removed, as with frames from its own
 * clients. Members check every frame themselves anyway (an awareness envelope's signature,
 * author and counter; a beacon's signature and counter): the relay's check is what bounds the
 * frames a non-member can make it send, and that is spent where the frame came in.
 * @module
 */
import { memberIdOf, verifyMessage, type ReadEnvelope } from '@sealdoc/crypto';
import { BEACON_CONTEXT, beaconSignedBytes, type WireMessage } from '@sealdoc/protocol';
import { equalBytes } from './bytes.js';
import type { Client } from './connection.js';
import type { GroupLogs } from './groups.js';
import type { Intake } from './intake.js';
import { describe, Refusal, type RelayLog } from './report.js';
import type { RelayStore, StoreEvent } from './store.js';
import type { Subscriptions } from './subscriptions.js';

export class Presence {
  constructor(
    readonly store: RelayStore,
    readonly groups: GroupLogs,
    readonly intake: Intake,
    readonly subscriptions: Subscriptions,
    readonly log: RelayLog,
  ) {}

  /** A sealed awareness envelope (parsed already), in `frame` as received: verified, then forwarded. */
  async awareness(client: Client, envelope: ReadEnvelope, frame: Uint8Array): Promise<void> {
    const { header } = envelope;
    if ((await this.groups.standing(client, header.groupId)) === 'unknown-group') return; // presence before its group exists here: dropped
    await this.intake.verify(client, envelope, ['awareness']);
    this.#forward(client, header.groupId, header.docId, frame);
  }

  /**
   * A member's head beacon, in `frame` as received: relayed, never stored, to the document's
   * other subscribers, like presence. Only its own (signed by the key it said hello with), only
   * from a current member.
   */
  async beacon(client: Client, message: Extract<WireMessage, { type: 'beacon' }>, frame: Uint8Array): Promise<void> {
    if (!equalBytes(memberIdOf(message.signingPublicKey), client.memberId!)) throw new Refusal('bad-signature', 'a beacon is signed by the member that sends it');
    if ((await this.groups.standing(client, message.groupId)) === 'unknown-group') return; // before its group exists here: dropped
    await this.groups.member(client, message.groupId);
    const { type: _type, signature, ...body } = message;
    if (!(await verifyMessage(message.signingPublicKey, BEACON_CONTEXT, beaconSignedBytes(body), signature).catch(() => false))) throw new Refusal('bad-signature', 'the beacon’s signature does not verify');
    this.#forward(client, message.groupId, message.docId, frame);
  }

  /** A checked frame: to the document's other subscribers here, and to the other nodes (on a shared store). */
  #forward(client: Client, groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): void {
    this.subscriptions.forward(client, groupId, docId, frame);
    void this.store.sharePresence?.(groupId, docId, frame).catch((error: unknown) => this.log({ event: 'error', connection: client.id, detail: `sharing presence: ${describe(error)}` }));
  }

  /** A frame another node checked and shared: to the document's subscribers here. */
  sharedElsewhere(event: Extract<StoreEvent, { type: 'presence' }>): void {
    this.subscriptions.forward(undefined, event.groupId, event.docId, event.frame);
  }
}
