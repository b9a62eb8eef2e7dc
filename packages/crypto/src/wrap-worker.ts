/**
 * A wrap worker (Web Worker, module type) of wrap-pool.ts: it takes a range of recipients and
 * an epoch secret, and answers with their epoch wraps (HPKE SealBase, RFC 9180 6.1), made by
 * the same code as the page's thread (epochs.ts, `_wrapSecretsHere`: WebCrypto X25519 where
 * the browser has it, @noble otherwise). The secret is wiped once the task is done, whatever
 * the outcome; errors are answered by their HPKE code only, never with key bytes.
 * @module
 */
import { _wipe } from './bytes.js';
import { _unpackRecipients, _wrapSecretsHere } from './epochs.js';
import { HpkeError } from './errors.js';
import type { _WrapAnswer, _WrapTask } from './wrap-pool.js';

interface WorkerScope {
  postMessage(message: _WrapAnswer, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<_WrapTask>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.addEventListener('message', async ({ data: { id, secret, groupId, epoch, recipients } }) => {
  try {
    const list = _unpackRecipients(recipients);
    const wraps = await _wrapSecretsHere(secret, groupId, epoch, list, list.length);
    scope.postMessage({ id, wraps }, [wraps.buffer]);
  } catch (error) {
    scope.postMessage({ id, error: error instanceof HpkeError ? { hpke: error.code, message: error.message } : { message: error instanceof Error ? error.name : 'unknown error' } });
  } finally {
    _wipe(secret);
  }
});
scope.postMessage({ ready: true });
