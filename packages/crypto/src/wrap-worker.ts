/**
 * A wrap worker (Web Worker, module type) of wrap-pool.ts: it takes a range of recipients and
 * an epoch secret, and answers with their epoch wraps (HPKE SealBase, RFC 9180 6.1), made by
 * the same code as the page's thread (epochs.ts, `_wrapSecretsHere`: WebCrypto X25519 where
 * the browser has it, @noble otherwise). The secret is wiped once the task is done, whatever
 * the outcome; errors are answered by their HPKE code only, never with key bytes
 * (wrap-thread.ts, `_answerWrapTask`).
 * @module
 */
import { _unpackRecipients, _wrapSecretsHere } from './epochs.js';
import { _answerWrapTask, type _WrapAnswer, type _WrapTask } from './wrap-thread.js';

interface WorkerScope {
  postMessage(message: _WrapAnswer, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<_WrapTask>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.addEventListener('message', async ({ data }) => {
  const { answer, transfer } = await _answerWrapTask(data, (secret, info, recipients) => _wrapSecretsHere(secret, info, _unpackRecipients(recipients)));
  scope.postMessage(answer, transfer);
});
scope.postMessage({ ready: true });
