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
 * Each secret is checked against the op's commitment (`bad-secret` if an admin cheated).
 * Returns the epochs added, ascending. Serves both live updates and recovery on a new device.
 */
export async function unlockEpochSecrets(log: MembershipLog, keys: Identity, keyring: Keyring): Promise<number[]> {
  if (!(keys instanceof Identity)) throw new CryptoInputError('keys must be an Identity (a person\'s or a device\'s key pairs)');
  const groupId = log.groupId;
  const me = _hex(keys.memberId);
  const added: number[] = [];
  const recipientsAfter = log._recipientsAfterEachOp();
  const pending: Promise<void>[] = [];
  const wrapped = new Set<number>();
  for (let index = 0; index < log.length; index++) {
    const op = log._decoded(index);
    let wrap: Uint8Array | undefined;
    if (op.keys) {
      const position = binarySearch(recipientsAfter[index]!, me);
      if (position >= 0) wrap = op.keys.wraps.subarray(position * _WRAP_LENGTH, (position + 1) * _WRAP_LENGTH);
    } else if (op.change.type === 'certify-device' && _hex(op.change.device.deviceId) === me) wrap = op.deviceWrap;
    if (!wrap || wrapped.has(op.epoch) || keyring.has(groupId, op.epoch)) continue;
    wrapped.add(op.epoch);
    const commitment = log._decoded(log._epochStart(op.epoch)!).keys!.commitment;
    pending.push(
      _unwrapSecret(wrap, groupId, op.epoch, keys.memberId, keys).then((secret) => {
        if (!secret || !_checkEpochSecret(secret, groupId, op.epoch, commitment))
          _fail('bad-secret', `the epoch ${op.epoch} secret wrapped to you does not match the op's commitment`);
        keyring.add(groupId, op.epoch, secret);
        _wipe(secret);
        added.push(op.epoch);
      }),
    );
  }
  await Promise.all(pending);
  for (let epoch = log.epoch; epoch > 0; epoch--) {
    if (keyring.has(groupId, epoch - 1)) continue;
    const newer = keyring._secret(groupId, epoch);
    const lineage = log._decoded(log._epochStart(epoch)!).keys!.lineage;
    if (!newer || !lineage) continue;
    const older = _openLineage(newer, lineage, groupId, epoch);
    const olderOp = log._decoded(log._epochStart(epoch - 1)!);
    if (!older || !_checkEpochSecret(older, groupId, epoch - 1, olderOp.keys!.commitment))
      _fail('bad-secret', `the lineage of epoch ${epoch} does not lead to epoch ${epoch - 1}'s secret`);
    keyring.add(groupId, epoch - 1, older);
    _wipe(older);
    added.push(epoch - 1);
  }
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
