/**
 * Unlocking a group's epoch secrets from its membership log (docs/membership.md, "Epoch
 * secrets"). Apart from the log, which holds no secret and serves members and relays alike:
 * only a member, with its identity and keyring, unlocks.
 * @module
 */
import { CryptoInputError } from './errors.js';
import { _hex, _wipe } from './bytes.js';
import { Identity } from './identity.js';
import type { Keyring } from './keyring.js';
import { _checkEpochSecret, _openLineage, _unwrapSecret, _WRAP_LENGTH } from './epochs.js';
import { _fail } from './membership-op.js';
import type { MembershipLog } from './membership-log.js';

/**
 * Adds to `keyring` every epoch secret of the group that `keys` (a person's identity key
 * pair, or one of its devices') is entitled to: the epochs it was a recipient of (its own
 * wraps) and, walking the lineage back from those, the earlier epochs the group's history
 * setting lets its person read. Nothing else is derivable: a
 * removed member has no wrap in later epochs, and a lineage only leads backwards.
 * Each secret is checked against the op's commitment: one that does not match is not taken,
 * the others are, and then `bad-secret` names the ops that carried the bad ones (a member
 * cheated; an admin resets with a rotate without lineage).
 * Returns the epochs added, ascending. Serves both live updates and recovery on a new device.
 */
export async function unlockEpochSecrets(log: MembershipLog, keys: Identity, keyring: Keyring): Promise<number[]> {
  if (!(keys instanceof Identity)) throw new CryptoInputError('keys must be an Identity (a person\'s or a device\'s key pairs)');
  const groupId = log.groupId;
  const me = _hex(keys.memberId);
  const added: number[] = [];
  // Ops whose keys do not open to what they commit to: reported once everything else is unlocked.
  const bad: string[] = [];
  const recipientsAfter = log._recipientsAfterEachOp();
  const wraps = new Map<number, { wrap: Uint8Array; op: string }>();
  for (let index = 0; index < log.length; index++) {
    const op = log._decoded(index);
    if (op.keys) {
      const position = binarySearch(recipientsAfter[index]!, me);
      if (position >= 0) wraps.set(op.epoch, { wrap: op.keys.wraps.subarray(position * _WRAP_LENGTH, (position + 1) * _WRAP_LENGTH), op: _hex(op.hash) });
    } else if (op.change.type === 'certify-device' && _hex(op.change.device.deviceId) === me)
      for (const { epoch, wrap } of op.deviceWraps!) if (!wraps.has(epoch)) wraps.set(epoch, { wrap, op: _hex(op.hash) });
  }
  await Promise.all(
    [...wraps].map(async ([epoch, { wrap, op }]) => {
      if (keyring.has(groupId, epoch)) return;
      const start = log._epochStart(epoch);
      const secret = start === undefined ? undefined : await _unwrapSecret(wrap, groupId, epoch, keys.memberId, keys);
      if (!secret || !_checkEpochSecret(secret, groupId, epoch, log._decoded(start!).keys!.commitment)) {
        bad.push(op);
        return;
      }
      keyring.add(groupId, epoch, secret);
      _wipe(secret);
      added.push(epoch);
    }),
  );
  for (let epoch = log.epoch; epoch > 0; epoch--) {
    if (keyring.has(groupId, epoch - 1)) continue;
    const newer = keyring._secret(groupId, epoch);
    const startOp = log._decoded(log._epochStart(epoch)!);
    const lineage = startOp.keys!.lineage;
    if (!newer || !lineage) continue;
    const older = _openLineage(newer, lineage, groupId, epoch);
    const olderOp = log._decoded(log._epochStart(epoch - 1)!);
    if (!older || !_checkEpochSecret(older, groupId, epoch - 1, olderOp.keys!.commitment)) {
      bad.push(_hex(startOp.hash));
      continue;
    }
    keyring.add(groupId, epoch - 1, older);
    _wipe(older);
    added.push(epoch - 1);
  }
  // Every secret that opened is kept; those that did not are named (the ops that carried them).
  if (bad.length > 0) _fail('bad-secret', `${bad.length} epoch secret(s) wrapped or sealed for you do not match their op's commitment: a member cheated`, bad);
  return added.sort((a, b) => a - b);
}

function binarySearch(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
