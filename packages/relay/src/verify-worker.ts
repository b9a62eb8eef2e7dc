/**
 * The body of a verify pool's worker thread (verify-pool.ts): it checks envelopes with
 * `verifyEnvelope` of @sealdoc/crypto (structure, group, document, kind, role and the Ed25519
 * signature), against the author the relay's main thread resolved from the group's membership
 * log, and answers each request (verify-request.ts) with its id: alone when it verified, with
 * the EnvelopeError's code and message when it did not. Requests come in batches (what a turn of
 * the relay's event loop asked), and answers go back the same way.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { activeCryptoBackends, EnvelopeError, verifyEnvelope, verifyOnCallingThread } from '@sealdoc/crypto';
import { unpackVerifyRequest, type VerifyAnswer } from './verify-request.js';

// This thread does nothing but check: node:crypto's one-shot verify, here (not WebCrypto's pool).
verifyOnCallingThread(true);

const port = parentPort;
// Answers ready in this turn of the event loop go back together.
let answers: VerifyAnswer[] = [];
const answer = (a: VerifyAnswer) => {
  if (answers.length === 0)
    setImmediate(() => {
      const batch = answers;
      answers = [];
      port?.postMessage(batch);
    });
  answers.push(a);
};

// Ready once the Ed25519 implementation is chosen (a probe, done once).
void activeCryptoBackends().then(
  () => port?.postMessage('ready'),
  () => port?.postMessage('ready'),
);

port?.on('message', (batch: Uint8Array[]) => {
  for (const packed of batch) {
    let id = 0;
    try {
      const { id: requestId, bytes, groupId, docId, kinds, author } = unpackVerifyRequest(packed);
      id = requestId;
      verifyEnvelope(bytes, { groupId, ...(docId ? { docId } : {}), ...(kinds ? { kinds } : {}), author: () => author }).then(
        () => answer(id),
        (error: unknown) => answer(answerOf(id, error)),
      );
    } catch (error) {
      answer(answerOf(id, error));
    }
  }
});

function answerOf(id: number, error: unknown): VerifyAnswer {
  return error instanceof EnvelopeError ? { id, code: error.code, message: error.message } : { id, failure: error instanceof Error ? error.name : 'unknown' };
}
