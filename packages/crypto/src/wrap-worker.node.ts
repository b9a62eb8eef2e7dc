/// <reference types="node" />
/**
 * A wrap worker (worker_threads) of Node's wrap pool (wrap-thread.node.ts): it takes a range of
 * recipients and an epoch secret and answers with their wraps, made with node:crypto exactly as
 * the calling thread would make them (native.node.ts `wrapAll`). The secret is wiped once the
 * task is done, whatever the outcome; errors are answered by their HPKE code only
 * (wrap-thread.ts, `_answerWrapTask`).
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { _native } from './native.node.js';
import { _answerWrapTask, type _WrapTask } from './wrap-thread.js';

const port = parentPort!;
port.on('message', async (task: _WrapTask) => {
  const { answer, transfer } = await _answerWrapTask(task, (secret, info, recipients) => _native.wrapAll(secret, info, recipients, 'worker'));
  port.postMessage(answer, transfer);
});
port.postMessage({ ready: true });
