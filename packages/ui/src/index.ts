/**
 * @sealdoc/ui: lit web components for sealed documents. Importing this module defines the
 * elements; they hold no business logic: each observes `@sealdoc/core` state (a SealedDoc, a
 * Group) and calls its API. They work in a plain HTML page, with no framework.
 *
 * - `<sealdoc-editor>`: a rich-text editor (ProseMirror through y-prosemirror) of a Y.XmlFragment,
 *   with a toolbar, undo of one's own edits, and the others' carets from the sealed awareness;
 *   its blocks sit in sections of {@link SECTION_SIZE}, which keep typing fast in long documents.
 * - `<sealdoc-members>`: members (persons) with their roles and devices, who is here now; an admin changes roles
 *   and removes members; anyone removes its own other devices.
 * - `<sealdoc-sync-status>`: online / offline / syncing, pending edits, epoch, last error.
 * - `<sealdoc-recovery>`: shows the 24 words once and checks a few; restores from typed words.
 * - `<sealdoc-invite>`: an admin's invitation links (pending ones listed, each can be cancelled) and their requests; an invitee's request and its state; {@link describeInvitationCheck}, a link's check in words.
 * - {@link toMarkdown} and {@link toHtml}: a document's text for export.
 * @packageDocumentation
 */
export { SealdocEditor, type EditDetail, type EditorUser } from './editor.js';
export { SealdocMembers, type MemberChangeDetail, type DeviceRevokedDetail } from './members.js';
export { CONNECTING_GRACE_MS, SealdocSyncStatus, type SyncState, type SyncStateDetail } from './sync-status.js';
export { SealdocRecovery, type RestoreDetail } from './recovery.js';
export { describeInvitationCheck, SealdocInvite, type AdmittedDetail, type InvitationDetail, type JoinStateDetail } from './invite.js';
export { describeError, describeDeviceRevoked } from './words.js';
export { deviceName, personName, presenceName, presentDevices, safetyCode } from './people.js';
export { CARET_PALETTE, personColor, safeColor } from './colors.js';
export { richSchema, safeHref } from './rich-schema.js';
export { SECTION_SIZE } from './sections.js';
export { toMarkdown, toHtml, fragmentToNode } from './export-formats.js';
export { convertPlainText, needsConversion, CONVERSION_ORIGIN } from './convert.js';
