/**
 * @sealdoc/core/node: what only Node has. {@link SqliteStorage} (better-sqlite3, an optional
 * peer dependency) and the device key kept in a file, wrapped under a passphrase.
 * @packageDocumentation
 */
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AtRestError, DeviceKey, type DeviceKeyOptions } from './device-key.js';

export { SqliteStorage, type SqliteStorageOptions } from './sqlite-storage.js';

/**
 * Opens the device key kept in the file at `path`, wrapped under `passphrase` (scrypt, as in
 * backups: seconds of work, reported by `backup.onProgress`), or creates the file (mode
 * 0600, written whole or not at all) when there is none and `create` is not false.
 * Throws AtRestError: no-device-key, wrong-passphrase, corrupt.
 */
export async function openKeyFile(path: string, passphrase: string, options: Omit<DeviceKeyOptions, 'passphrase'> = {}): Promise<DeviceKey> {
  let wrapped: Uint8Array | undefined;
  try {
    wrapped = new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  if (wrapped) return DeviceKey._openWrapped(wrapped, passphrase, options.backup);
  if (options.create === false) throw new AtRestError('no-device-key', `no device key file at ${path}`);
  const created = await DeviceKey._createWrapped(passphrase, options.backup);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(created.wrapped);
    await file.sync();
  } finally {
    await file.close();
  }
  // A hard link appears whole and fails if a key file appeared meanwhile: then that one is used.
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    return openKeyFile(path, passphrase, { ...options, create: false });
  } finally {
    await unlink(temporary);
  }
  return created.key;
}
