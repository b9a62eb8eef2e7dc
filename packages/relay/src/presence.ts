/**
 * Frames the relay forwards and never stores: sealed awareness (cursors, presence) and members'
 * signed head beacons. Each is checked as a push would be, as far as the relay can without a
 * key: only from a current member, only its own (an awareness envelope's signature and author
 * against the log; a beacon signed by the key its sender said hello with), then sent, as the
 * bytes received, to the document's other subscribers that have room for it. One for a group
 * the relay does not know yet is dropped.
 * @module
 */
import { memberIdOf, verifyMessage, type EnvelopeHeader } from '@sealdoc/crypto';
import { BEACON_CONTEXT, beaconSignedBytes, type WireMessage } from '@sealdoc/protocol';
import { equalBytes } from './bytes.js';
import type { Client } from './connection.js';
import type { GroupLogs } from './groups.js';
import type { Intake } from './intake.js';
import { Refusal } from './report.js';
import type { Subscriptions } from './subscriptions.js';

export class Presence {
  constructor(
    readonly groups: GroupLogs,
    readonly intake: Intake,
    readonly subscriptions: Subscriptions,
  ) {}

  /** A sealed awareness envelope (its header read already), in `frame` as received: verified, then forwarded. */
  async awareness(client: Client, header: EnvelopeHeader, bytes: Uint8Array, frame: Uint8Array): Promise<void> {
    if ((await this.groups.standing(client, header.groupId)) === 'unknown-group') return; // presence before its group exists here: dropped
    await this.intake.verify(client, header, bytes, ['awareness']);
    this.subscriptions.forward(client, header.groupId, header.docId, frame);
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
    this.subscriptions.forward(client, message.groupId, message.docId, frame);
  }
}
