/**
 * Groups from the relay: the groups a member belongs to that this device does not keep yet
 * (a restore from the words, a new device, an invitation just admitted) come from the relay's
 * copy of their log, verified op by op here like any log: the relay cannot make a device join
 * a group it is no member of, nor hand it a log that does not verify.
 * @module
 */
import { MembershipError, MembershipLog, Keyring, type Identity } from '@sealdoc/crypto';
import { hex } from './bytes.js';
import { Group } from './group.js';
import type { Storage } from './storage.js';
import { TransportError } from './transport.js';
import type { WebSocketTransport } from './websocket-transport.js';

/** How long the relay has to send a group's log (each page restarts the clock). */
const FETCH_LOG_MS = 10_000;

/** The ids of the groups the relay says this connection's member belongs to. Rejects as `request` does (offline, timeout, RelayError). */
export async function listRelayGroups(transport: WebSocketTransport): Promise<Uint8Array[]> {
  const answer = await transport.request({ type: 'list-groups', ref: 0 });
  return answer.type === 'groups' ? answer.groupIds : [];
}

/**
 * The group `groupId` from the relay's copy of its log, for `identity`: the log's pages are
 * gathered and verified until they name this member (its epoch secrets are then unwrapped),
 * kept in `storage` when given. Rejects with MembershipError when the log does not verify, is
 * another group's (`malformed`) or names this member nowhere within 10 s of its last page
 * (`not-a-member`), and TransportError('offline') when the relay sends nothing for 10 s
 * (`timeoutMs`) or the connection drops.
 */
export async function fetchRelayGroup(transport: WebSocketTransport, options: { identity: Identity; groupId: Uint8Array; storage?: Storage; timeoutMs?: number }): Promise<Group> {
  const { identity, groupId, storage, timeoutMs = FETCH_LOG_MS } = options;
  const log = await new Promise<MembershipLog>((resolve, reject) => {
    let gathered: MembershipLog | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (error: unknown, result?: MembershipLog) => {
      off();
      offStatus();
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(error);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            gathered
              ? new MembershipError('not-a-member', 'the group’s log, as the relay holds it, does not name this member')
              : new TransportError('offline', 'the relay did not send the group’s log'),
          ),
        timeoutMs,
      );
    };
    arm();
    const offStatus = transport.events.on('status', ({ status }) => {
      if (status !== 'online') finish(new TransportError('offline', 'the connection to the relay was lost'));
    });
    const off = transport.events.on('message', ({ from, message }) => {
      if (from !== transport.relayPeer) return;
      // Pages of the log, each from where it starts (possibly before what is gathered: checked against it).
      if (message.type !== 'ops' || hex(message.groupId) !== hex(groupId) || (gathered ? message.fromIndex > gathered.length : message.fromIndex !== 0)) return;
      const next = gathered ? gathered.sync(message.ops, message.fromIndex).then(() => gathered!) : MembershipLog.fromOps(message.ops);
      void next.then(
        (l) => {
          gathered = l;
          if (hex(l.groupId) !== hex(groupId)) return finish(new MembershipError('malformed', 'the relay sent another group’s log'));
          if (!l.member(identity.memberId)) return arm(); // more pages to come, or not a member: the clock decides
          finish(undefined, l);
        },
        (error: unknown) => finish(error),
      );
    });
    try {
      transport.send({ type: 'fetch-ops', groupId, fromIndex: 0 });
    } catch (error) {
      finish(error);
    }
  });
  const group = new Group({ identity, log, keyring: new Keyring(), ...(storage ? { storage } : {}) });
  await group.refresh();
  return group;
}
