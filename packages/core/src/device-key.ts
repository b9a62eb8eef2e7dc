/**
 * The device key: what keeps this device's secrets (the identity, the local document states)
 * unreadable at rest. A non-extractable WebCrypto AES-GCM key: script can use it but never
 * read it, so a copy of the store (a stolen disk, a synced profile folder) holds only
 * ciphertext. In a browser it lives in IndexedDB as a CryptoKey object; optionally, and
 * always for the Node key file, it is kept wrapped under a passphrase (scrypt, the backup
 * container of @sealdoc/crypto) and unwrapped into a non-extractable key when opened.
 *
 * A sealed record: u8 version (1) · key id 8 · nonce 12 · AES-256-GCM ciphertext and tag,
 * with the version, key id and a context naming the record as associated data, so a record
 * cannot be moved to another key or slot.
 * @module
 */
import { BackupError, openBackup, sealBackup, type BackupOptions } from '@sealdoc/crypto';
import { _DEVICE_STORE, _openDatabase, IndexedDBStorage } from './indexeddb-storage.js';

/** Why a device key or a record sealed under it could not be used. */
export type AtRestErrorCode = 'no-device-key' | 'passphrase-required' | 'wrong-passphrase' | 'corrupt';

/**
 * A typed at-rest failure. `no-device-key`: the key is gone (deleted, another browser
 * profile) or the record was sealed under another one; `passphrase-required` /
 * `wrong-passphrase`: the key is wrapped; `corrupt`: the record or key file is damaged or
 * was altered. Nothing is changed when one is thrown.
 */
export class AtRestError extends Error {
  readonly code: AtRestErrorCode;
  constructor(code: AtRestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'AtRestError';
  }
}

/** Options for opening or creating a passphrase-wrapped device key. */
export interface DeviceKeyOptions {
  /** Wrap the key under this passphrase (and require it to open the key). */
  passphrase?: string;
  /** Create a key when none is stored (default true). */
  create?: boolean;
  /** scrypt cost when wrapping, and progress while deriving (seconds of work). */
  backup?: BackupOptions;
}

const VERSION = 1;
const KEY_ID_LENGTH = 8;
const NONCE_LENGTH = 12;
const RAW_LENGTH = 32 + KEY_ID_LENGTH; // key bytes, then its id
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + NONCE_LENGTH;
const RECORD = 'device-key';
const LABEL = new TextEncoder().encode('sealdoc at-rest v1\0');

type StoredKey = { version: 1; id: Uint8Array; key: CryptoKey } | { version: 1; id: Uint8Array; wrapped: Uint8Array };

const idbRequest = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

async function importKey(raw: Uint8Array): Promise<DeviceKey> {
  const key = await crypto.subtle.importKey('raw', raw.slice(0, 32), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const id = raw.slice(32, RAW_LENGTH);
  raw.fill(0);
  return new DeviceKey(key, id);
}

/** Unwraps a passphrase-wrapped key; a wrong passphrase and a damaged wrap are told apart. */
async function unwrap(wrapped: Uint8Array, passphrase: string | undefined, options?: BackupOptions): Promise<DeviceKey> {
  if (passphrase === undefined) throw new AtRestError('passphrase-required', 'this device key is protected by a passphrase');
  let raw: Uint8Array;
  try {
    raw = await openBackup(wrapped, passphrase, options?.onProgress ? { onProgress: options.onProgress } : {});
  } catch (error) {
    if (error instanceof BackupError && error.code === 'wrong-passphrase') throw new AtRestError('wrong-passphrase', 'the passphrase does not open this device key', { cause: error });
    throw new AtRestError('corrupt', 'the wrapped device key is damaged', { cause: error });
  }
  if (raw.length !== RAW_LENGTH) throw new AtRestError('corrupt', 'the wrapped device key has the wrong length');
  return importKey(raw);
}

// WebCrypto's types want ArrayBuffer-backed views; ours are, SharedArrayBuffer never reaches here.
const src = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

function record(version: number, id: Uint8Array, context: string): Uint8Array<ArrayBuffer> {
  const ctx = new TextEncoder().encode(context);
  const out = new Uint8Array(new ArrayBuffer(LABEL.length + 1 + KEY_ID_LENGTH + ctx.length));
  out.set(LABEL);
  out[LABEL.length] = version;
  out.set(id, LABEL.length + 1);
  out.set(ctx, LABEL.length + 1 + KEY_ID_LENGTH);
  return out;
}

export class DeviceKey {
  readonly #key: CryptoKey;
  /** A random id of this key (not secret), written in every record sealed under it. */
  readonly id: Uint8Array;

  /** @internal Use {@link DeviceKey.generate}, {@link DeviceKey.inBrowser} or the Node key file. */
  constructor(key: CryptoKey, id: Uint8Array) {
    if (key.extractable) throw new TypeError('a device key must not be extractable');
    this.#key = key;
    this.id = id;
  }

  /** A fresh key held in memory only (tests, or a session that keeps nothing). */
  static async generate(): Promise<DeviceKey> {
    return importKey(crypto.getRandomValues(new Uint8Array(RAW_LENGTH)));
  }

  /**
   * @internal A fresh key and its wrap under `passphrase` (the bytes to keep). The raw key
   * exists only while it is wrapped and imported, then it is wiped.
   */
  static async _createWrapped(passphrase: string, options?: BackupOptions): Promise<{ key: DeviceKey; wrapped: Uint8Array }> {
    const raw = crypto.getRandomValues(new Uint8Array(RAW_LENGTH));
    const wrapped = await sealBackup(raw, passphrase, options);
    return { key: await importKey(raw), wrapped };
  }

  /** @internal Opens a key wrapped by {@link DeviceKey._createWrapped}. */
  static _openWrapped(wrapped: Uint8Array, passphrase: string | undefined, options?: BackupOptions): Promise<DeviceKey> {
    return unwrap(wrapped, passphrase, options);
  }

  /**
   * This browser's device key, kept in an IndexedDB database beside the records of the
   * {@link IndexedDBStorage} of that name (pass the open store to share its connection),
   * created on first use. With a passphrase, the key is stored wrapped and the passphrase is
   * needed on every open. Throws AtRestError: no-device-key (none stored and
   * `create: false`), passphrase-required, wrong-passphrase, corrupt.
   */
  static async inBrowser(database: string | IndexedDBStorage = 'sealdoc', options: DeviceKeyOptions = {}): Promise<DeviceKey> {
    const shared = database instanceof IndexedDBStorage;
    const db = shared ? database._db : await _openDatabase(database);
    try {
      const tx = () => db.transaction(_DEVICE_STORE, 'readwrite').objectStore(_DEVICE_STORE);
      const stored = (await idbRequest(tx().get(RECORD))) as StoredKey | undefined;
      if (stored) {
        if (stored.version !== VERSION || !(stored.id instanceof Uint8Array)) throw new AtRestError('corrupt', 'the stored device key is not in a known format');
        if ('key' in stored) return new DeviceKey(stored.key, stored.id);
        return await unwrap(stored.wrapped, options.passphrase, options.backup);
      }
      if (options.create === false) throw new AtRestError('no-device-key', 'this browser holds no device key');
      let key: DeviceKey;
      let value: StoredKey;
      if (options.passphrase !== undefined) {
        const created = await DeviceKey._createWrapped(options.passphrase, options.backup);
        key = created.key;
        value = { version: VERSION, id: key.id, wrapped: created.wrapped };
      } else {
        const raw = crypto.getRandomValues(new Uint8Array(KEY_ID_LENGTH));
        const cryptoKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
        key = new DeviceKey(cryptoKey, raw);
        value = { version: VERSION, id: key.id, key: cryptoKey };
      }
      // `add`, not `put`: if another tab created one meanwhile, this fails and we use theirs.
      try {
        await idbRequest(tx().add(value, RECORD));
      } catch (error) {
        if ((error as { name?: string } | null)?.name !== 'ConstraintError') throw error;
        return await DeviceKey.inBrowser(database, { ...options, create: false });
      }
      return key;
    } finally {
      if (!shared) db.close();
    }
  }

  /** Deletes this browser's device key: what was sealed under it can no longer be opened. */
  static async deleteFromBrowser(database = 'sealdoc'): Promise<void> {
    const db = await _openDatabase(database);
    try {
      await idbRequest(db.transaction(_DEVICE_STORE, 'readwrite').objectStore(_DEVICE_STORE).delete(RECORD));
    } finally {
      db.close();
    }
  }

  /** Encrypts `plaintext` for storage; `context` names the record (its storage key). */
  async seal(plaintext: Uint8Array, context: string): Promise<Uint8Array> {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: record(VERSION, this.id, context) }, this.#key, src(plaintext)),
    );
    const out = new Uint8Array(HEADER_LENGTH + ciphertext.length);
    out[0] = VERSION;
    out.set(this.id, 1);
    out.set(nonce, 1 + KEY_ID_LENGTH);
    out.set(ciphertext, HEADER_LENGTH);
    return out;
  }

  /**
   * Decrypts a record sealed by {@link DeviceKey.seal} with the same `context`. Throws
   * AtRestError: corrupt (damaged, altered, or moved from another slot), no-device-key
   * (sealed under another key).
   */
  async open(sealed: Uint8Array, context: string): Promise<Uint8Array> {
    if (!(sealed instanceof Uint8Array) || sealed.length < HEADER_LENGTH + 16) throw new AtRestError('corrupt', 'the record is too short');
    if (sealed[0] !== VERSION) throw new AtRestError('corrupt', `record version ${sealed[0]} is not known`);
    const id = sealed.subarray(1, 1 + KEY_ID_LENGTH);
    if (!id.every((b, i) => b === this.id[i])) throw new AtRestError('no-device-key', 'the record was sealed under another device key, which this device does not hold');
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: src(sealed.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH)), additionalData: record(VERSION, this.id, context) },
          this.#key,
          src(sealed.subarray(HEADER_LENGTH)),
        ),
      );
    } catch (error) {
      throw new AtRestError('corrupt', 'the record is damaged or was altered', { cause: error });
    }
  }
}
