/**
 * Errors in words a person understands. Every typed error Sealdoc raises has a `code`; these
 * sentences say what happened and, where there is one, what to do. Nothing secret is in them
 * (codes and positions only, as in the errors themselves).
 * @module
 */

const SENTENCES: Record<string, string> = {
  // Reaching the relay.
  offline: 'You are offline. Your edits are kept on this device and sent when you reconnect.',
  closed: 'The connection was closed. Reconnecting…',
  timeout: 'The server did not answer in time. Nothing was changed; try again.',
  'rate-limited': 'The server asked us to slow down. Your edits will go through in a moment.',
  'too-large': 'That change is too large to send in one piece.',
  internal: 'The server had a problem. Your edits are kept and will be sent again.',
  'not-authenticated': 'The server did not accept this device. Reload the page to sign in again.',
  'bad-hello': 'The server did not accept this device’s identity.',
  'unknown-group': 'The server does not know this document yet. It will once its creator connects.',
  'quota-exceeded': 'The server’s limit for your account was reached (documents, storage or connections). Your edits are kept on this device; close other tabs or ask the server’s operator for more room.',
  'too-slow': 'The connection was too slow to keep up, so the server closed it. Reconnecting…',
  busy: 'The server is full right now. Reconnecting in a moment…',
  'auth-failed': 'This server does not let this device in. Sign in to the app again, or ask the server’s operator.',
  'not-subscribed': 'The server lost track of this document on this connection. Reconnecting…',
  // Membership.
  'not-a-member': 'You are not a member of this document.',
  'not-a-writer': 'You can read this document but not edit it.',
  'past-cutoff': 'An edit arrived from someone after their access ended; it was ignored.',
  'access-removed': 'Your access to this document was removed. You will receive nothing new.',
  'not-admin': 'Only an admin of this document can do that.',
  'stale-head': 'Someone changed the members at the same time. Try again.',
  'cutoff-too-low': 'That member’s latest edits have not reached you yet. Wait a moment and try again.',
  fork: 'Two different member lists exist for this document: the server may be showing people different versions. Contact its admin.',
  'rekey-refused': 'Someone left this document, and this device could not change its key for the others. Until an admin’s device does, the person who left could read new edits if the server helped them. It is tried again when you reconnect.',
  'rekey-stalled': 'Someone left this document, and the server has not taken the new key from this device yet. It is tried again when you reconnect; until then, the person who left could read new edits if the server helped them.',
  // What members see of the server and of each other.
  'withheld-ops': 'The server has not delivered a change to the members that others already have. Your new edits stay on this device until it does; if this lasts, the server may be holding it back.',
  'withheld-envelopes': 'Another member has edits that the server has not delivered to you. If this lasts, the server may be holding them back.',
  unacknowledged: 'The server has not confirmed some of your edits. They are kept on this device and sent again; if this lasts, the server may be dropping them.',
  'member-behind': 'Another member is still working on an old member list; the server may not be delivering changes to them.',
  equivocation: 'A member sent two different versions of the same edit; the first one was kept. Their device may be compromised: tell the document’s admin.',
  'partition-suspected': 'No other member has been seen for a while. If others are working now, the server may be hiding their changes from you.',
  'spoofed-presence': 'A member tried to show a cursor as someone else; it was ignored.',
  'unknown-invite': 'This invitation link is not known to the server. Check that you have all of it.',
  'invite-expired': 'This invitation has expired. Ask the person who sent it for a new link.',
  'invite-revoked': 'This invitation was cancelled. Ask the person who sent it for a new link.',
  'invite-used': 'This invitation was already used: a link lets one person in. Ask the person who sent it for a new link.',
  'unknown-predecessor': 'The member list arrived out of order; the rest is being fetched.',
  truncated: 'The server sent an older member list than this device has seen. It may be hiding recent changes: check with the document’s admin.',
  duplicate: 'A change to the members arrived twice; the copy was ignored.',
  'not-genesis': 'A member list arrived without its beginning; it was ignored.',
  'bad-epoch': 'A change to the members was out of sequence; it was ignored.',
  'bad-wraps': 'A change to the members was incomplete; it was ignored.',
  'bad-secret': 'An admin gave this device keys that do not match everyone else’s. Contact the document’s admin.',
  'missing-secret': 'This device does not have the keys yet to change the members. Wait until it is up to date and try again.',
  'already-member': 'That person is already a member.',
  'last-admin': 'A document needs at least one admin: make someone else an admin first.',
  'bad-key': 'A key was not valid, so nothing was changed.',
  'bad-name': 'A name has 1 to 64 letters, on one line. Type another one.',
  // Devices.
  'wrong-person': 'That device belongs to someone else: only its own person can add or remove it.',
  'not-a-device': 'That key cannot be removed this way: the key from your recovery words is not a device you can remove, and a device cannot remove itself (use another of your devices).',
  'device-revoked': 'This device was removed by its owner and cannot come back. Restore from your recovery words to use it again.',
  'too-many-devices': 'A person can have at most 16 devices in a document. Remove one you no longer use first.',
  'bad-cutoffs': 'A change to the members did not say where a device’s edits end; it was refused. Try again.',
  // Changing the members of a large document (the browser's background workers make its keys).
  'worker-failed': 'The browser stopped a background task while changing the members. Nothing was changed; try again.',
  'worker-timeout': 'A background task took too long while changing the members. Nothing was changed; try again.',
  // Content that did not check out.
  'wrong-group': 'Something arrived for another document; it was ignored.',
  'wrong-doc': 'Something arrived for another document; it was ignored.',
  'wrong-kind': 'Something arrived in the wrong place; it was ignored.',
  'unknown-head': 'An edit arrived from a newer member list than this device has; it is kept until the list arrives.',
  'wrong-epoch': 'An edit arrived with keys that do not match its member list; it was ignored.',
  'unknown-epoch': 'An edit arrived that this device has no key for yet; it is kept until the key arrives.',
  'unknown-snapshot': 'The server has not stored that summary of the document yet; it is sent again with the next one.',
  'not-a-snapshot': 'The server refused a summary of the document that was not one; nothing was lost.',
  'bad-covers': 'The server refused a summary of the document that claimed too much; nothing was lost.',
  'bad-signature': 'Something arrived that was not signed by a member; it was ignored.',
  'bad-commitment': 'Something arrived that did not decrypt correctly; it was ignored.',
  'bad-ciphertext': 'Something arrived that did not decrypt correctly; it was ignored.',
  malformed: 'Something arrived damaged; it was ignored.',
  'unsupported-version': 'Something arrived from a newer version of Sealdoc. Update this app.',
  conflict: 'Two different edits claimed the same place in history; the first one was kept.',
  'unknown-peer': 'That device is not connected right now.',
  'bad-message': 'Something could not be sent because it was damaged.',
  // This device.
  'bad-value': 'Something could not be saved on this device because it was damaged.',
  io: 'This device could not read or write its storage. Your latest edits are kept in memory; try reloading.',
  quota: 'This device is out of storage space. Free some space: your latest edits are kept in memory until then.',
  'no-device-key': 'This device’s key is gone, so what it stored cannot be opened. Restore from your recovery phrase or a backup.',
  'passphrase-required': 'Enter your passphrase to open what this device stored.',
  'wrong-passphrase': 'That passphrase is not the right one.',
  corrupt: 'Some data on this device is damaged. It will be fetched again from the server where possible.',
  // Recovery phrases and backups.
  'bad-length': 'A recovery phrase has 24 words.',
  'unknown-word': 'One of the words is not a recovery-phrase word. Check its spelling.',
  'bad-checksum': 'The words are valid, but one is wrong or out of order.',
  tampered: 'This backup was changed after it was made; it cannot be trusted.',
  corrupted: 'This backup file is damaged.',
};

/** What this device is told once its person removed it, and its copy was erased (or not). */
export function describeDeviceRevoked(wiped: boolean): string {
  return wiped
    ? 'This device was removed by its owner. Its copy has been erased; restore from your recovery words to use it again.'
    : 'This device was removed by its owner: it receives nothing new and sends nothing. Restore from your recovery words to use it again.';
}

/** A sentence for an error: by its `code` when Sealdoc knows it, otherwise a general one. */
export function describeError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  return SENTENCES[code] ?? 'Something went wrong. Your edits are kept on this device.';
}
