/**
 * @sealdoc/crypto: the pure cryptography of Sealdoc. No I/O, no Yjs; @noble and @scure only,
 * with WebCrypto as the fast path for Ed25519 and X25519 where the platform has it.
 *
 * - Identities from a 24-word BIP39 phrase: {@link generateMnemonic}, {@link identityFromMnemonic}.
 * - Domain-separated signatures: {@link signMessage}, {@link verifyMessage}.
 * - HPKE (RFC 9180) base mode for key wraps: {@link hpkeSeal}, {@link hpkeOpen}, exporters.
 * - Epoch secrets and per-document keys: {@link Keyring}.
 * - Sealed envelopes: {@link sealEnvelope}, {@link openEnvelope}, {@link verifyEnvelope};
 *   many at once, one signature check per author's run: {@link openEnvelopes}.
 * - Devices: {@link newDeviceKeys}, {@link requestDeviceCertificate}, {@link certifyDevice}.
 * - Groups: {@link MembershipLog}, {@link createGroup}, {@link addMember}, {@link removeMember},
 *   {@link setMemberRole}, {@link rotateEpoch}, {@link addDevice}, {@link revokeDevice},
 *   {@link rebaseOp}, {@link unlockEpochSecrets}, {@link rotationDue}.
 * - Passphrase backups: {@link sealBackup}, {@link openBackup}.
 * @packageDocumentation
 */
export {
  SealdocCryptoError,
  MnemonicError,
  HpkeError,
  EnvelopeError,
  BackupError,
  MembershipError,
  CryptoInputError,
  WrapWorkerError,
  type MnemonicErrorCode,
  type HpkeErrorCode,
  type EnvelopeErrorCode,
  type BackupErrorCode,
  type MembershipErrorCode,
  type WrapWorkerErrorCode,
} from './errors.js';
export { useCryptoBackend, verifyOnCallingThread, activeCryptoBackends, type CryptoBackend, type ActiveBackends } from './primitives.js';
export {
  Identity,
  MNEMONIC_WORDS,
  generateMnemonic,
  validateMnemonic,
  isMnemonicWord,
  identityFromMnemonic,
  identityFromSeed,
  seedFromMnemonic,
  memberIdOf,
  type IdentityOptions,
} from './identity.js';
export { signMessage, verifyMessage } from './signature.js';
export {
  hpkeDeriveKeyPair,
  hpkeSeal,
  hpkeOpen,
  hpkeSendExport,
  hpkeReceiveExport,
  type HpkeKeyPair,
  type HpkeOptions,
  type HpkeSenderOptions,
  type HpkeSealed,
  type HpkeRecipient,
} from './hpke.js';
export { Keyring, randomId, ID_LENGTH, EPOCH_SECRET_LENGTH, MAX_EPOCH, type KeyPurpose } from './keyring.js';
export { padmeLength } from './padding.js';
export {
  ENVELOPE_VERSION,
  ENVELOPE_HEADER_LENGTH,
  MAX_ENVELOPE_PLAINTEXT,
  sealEnvelope,
  openEnvelope,
  verifyEnvelope,
  readEnvelopeHeader,
  readEnvelope,
  envelopeHash,
  type EnvelopeKind,
  type MemberRole,
  type EnvelopeHeader,
  type EnvelopeAuthor,
  type VerifyContext,
  type OpenContext,
  type SealParams,
  type OpenedEnvelope,
  type ReadEnvelope,
} from './envelope.js';
export { openEnvelopes, type EnvelopeOutcome, type BatchStats } from './envelope-batch.js';
export {
  BACKUP_VERSION,
  BACKUP_SCRYPT_DEFAULT,
  BACKUP_SCRYPT_MIN,
  sealBackup,
  openBackup,
  type ScryptParams,
  type BackupOptions,
} from './backup.js';
export {
  DEVICE_CERTIFICATE_VERSION,
  MAX_DEVICE_LABEL_BYTES,
  newDeviceKeys,
  exportDeviceKeys,
  importDeviceKeys,
  requestDeviceCertificate,
  certifyDevice,
  readDeviceCertificate,
  readDeviceRequest,
  type DeviceCertificate,
  type DeviceRequest,
} from './device.js';
export {
  DEVICE_LINK_VALIDITY_MS,
  createDeviceLink,
  encodeDeviceLink,
  decodeDeviceLink,
  deviceLinkId,
  sealLinkRequest,
  openLinkRequest,
  type DeviceLink,
} from './device-link.js';
export {
  MEMBERSHIP_OP_VERSION,
  MAX_DEVICES,
  readMembershipOp,
  type HistoryAccess,
  type MemberKeys,
  type Member,
  type PersonKeys,
  type DeviceCutoff,
  type MembershipChange,
  type MembershipOp,
} from './membership-op.js';
export { MembershipLog, type MemberDevice } from './membership-log.js';
export {
  createGroup,
  addMember,
  removeMember,
  isLeave,
  setMemberRole,
  rotateEpoch,
  addDevice,
  revokeDevice,
  rebaseOp,
  actorKeys,
  actorPersonId,
  type Actor,
  type CertifiedDevice,
  type Cutoffs,
  type NewMember,
  type OpAuthor,
} from './membership-build.js';
export { unlockEpochSecrets } from './membership-unlock.js';
export { rotationDue, DEFAULT_ROTATION_POLICY, type RotationPolicy, type RotationDecision } from './rotation.js';
export {
  createInvitation,
  decodeInvitation,
  encodeInvitation,
  invitationId,
  openJoinRequest,
  safetyCode,
  sealJoinRequest,
  InvitationError,
  type Invitation,
  type InvitationErrorCode,
  type JoinRequest,
} from './invitation.js';
export { toHex, fromHex, equalBytes } from './bytes.js';
export { documentIdFromName, MAX_DOCUMENT_NAME_BYTES } from './document-name.js';
