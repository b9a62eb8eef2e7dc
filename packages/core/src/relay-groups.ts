/**
 * Groups from the relay: the groups a member belongs to that this device does not keep yet
 * (a restore from the words, a new device, an invitation just admitted) come from the relay's
 * copy of their log, verified op by op here like any log: the relay cannot make a device join
 * a group whose log does not name it, nor hand it a log that does not verify. It can withhold
 * the ops after those it sends (a removal, say): what a document's head watch then reports
 * (withheld-ops), as for any member.
 * @module
 */
import { actorKeys, MembershipError, MembershipLog, Keyring, type Actor } from '@sealdoc/crypto';
import { hex } from './bytes.js';
import { Group } from './group.js';
import type { Storage } from './storage.js';
import { TransportError } from './transport.js';
import type { WebSocketTransport } from './websocket-transport.js';

/** How long the relay has to send a group's log (each page that grows it restarts the clock). */
const FETCH_LOG_MS = 10_000;
/** Once the log names the member: how long later pages (a removal among them) may take to come. */
const SETTLE_MS = 300;

/** The ids of the groups the relay says this connection's member belongs to. Rejects as `request` does (offline, timeout, RelayError). */
export async function listRelayGroups(transport: WebSocketTransport): Promise<Uint8Array[]> {
  const answer = await transport.request({ type: 'list-groups', ref: 0 });
  return answer.type === 'groups' ? answer.groupIds : [];
}

/**
 * The group `groupId` from the relay's copy of its log, for `signer` (a person's identity key
 * pair or one of its certified devices): the log's pages are gathered and verified until they
 * name this device (its epoch secrets are then unwrapped),
 * kept in `storage` when given. Rejects with MembershipError when the log does not verify, is
 * another group's (`malformed`) or does not name this member 10 s after its last new page, or
 * no longer does once its later pages came (`not-a-member`), and TransportError('offline') when the relay sends nothing for 10 s
 * (`timeoutMs`) or the connection drops.
 */
export async function fetchRelayGroup(transport: WebSocketTransport, options: { signer: Actor; groupId: Uint8Array; storage?: Storage; timeoutMs?: number }): Promise<Group> {
  const { signer, groupId, storage, timeoutMs = FETCH_LOG_MS } = options;
  const me = actorKeys(signer).memberId;
  const log = await new Promise<MembershipLog>((resolve, reject) => {
    let gathered: MembershipLog | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    // Pages are verified one after the other, in the order they came (one arriving while the
    // one before is verified waits for it instead of being dropped).
    let verifying: Promise<unknown> = Promise.resolve();
    const finish = (error: unknown, result?: MembershipLog) => {
      if (done) return;
      done = true;
      off();
      offStatus();
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(error);
    };
    // The clock restarts only when the log grows: a relay sending the same pages again cannot
    // hold the caller for ever. Once the log names this member, a short quiet spell lets the
    // pages after it come (a removal among them) before it is taken.
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (gathered?.device(me)) finish(undefined, gathered);
        else
          finish(
            gathered
              ? new MembershipError('not-a-member', 'the group’s log, as the relay holds it, does not name this device')
              : new TransportError('offline', 'the relay did not send the group’s log'),
          );
      }, ms);
    };
    arm(timeoutMs);
    const offStatus = transport.events.on('status', ({ status }) => {
      if (status !== 'online') finish(new TransportError('offline', 'the connection to the relay was lost'));
    });
    const off = transport.events.on('message', ({ from, message }) => {
      if (from !== transport.relayPeer || message.type !== 'ops' || hex(message.groupId) !== hex(groupId)) return;
      verifying = verifying.then(async () => {
        if (done) return;
        // Pages of the log, each from where it starts (possibly before what is gathered: checked against it).
        if (gathered ? message.fromIndex > gathered.length : message.fromIndex !== 0) return;
        const before = gathered?.length ?? 0;
        try {
          if (gathered) await gathered.sync(message.ops, message.fromIndex);
          else gathered = await MembershipLog.fromOps(message.ops);
        } catch (error) {
          return finish(error);
        }
        if (hex(gathered.groupId) !== hex(groupId)) return finish(new MembershipError('malformed', 'the relay sent another group’s log'));
        if (gathered.length > before) arm(gathered.device(me) ? SETTLE_MS : timeoutMs);
      });
    });
    try {
      transport.send({ type: 'fetch-ops', groupId, fromIndex: 0 });
    } catch (error) {
      finish(error);
    }
  });
  const group = new Group({ signer, log, keyring: new Keyring(), ...(storage ? { storage } : {}) });
  await group.refresh();
  return group;
}
