/**
 * The body of a verify pool's worker thread (verify-pool.ts): it checks envelopes with
 * `verifyEnvelope` of @sealdoc/crypto (structure, group, kind, role and the Ed25519 signature),
 * against the author the relay's main thread resolved from the group's membership log, and
 * answers each request with its id: nothing, or the EnvelopeError's code and message.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { EnvelopeError, verifyEnvelope, type EnvelopeAuthor, type EnvelopeKind } from '@sealdoc/crypto';

/** A request from the pool. */
export interface VerifyRequest {
  id: number;
  bytes: Uint8Array;
  groupId: Uint8Array;
  /** The document it must belong to, when the context names one. */
  docId: Uint8Array | undefined;
  /** Kinds accepted; all when undefined. */
  kinds: EnvelopeKind[] | undefined;
  /** The author as the log names it at the envelope's epoch and head; undefined for a non-member. */
  author: EnvelopeAuthor | undefined;
}

/** The answer: `code` and `message` of the EnvelopeError when refused, `failure` for anything else. */
export interface VerifyAnswer {
  id: number;
  code?: string;
  message?: string;
  failure?: string;
}

const port = parentPort;
port?.on('message', (request: VerifyRequest) => {
  const { id, bytes, groupId, docId, kinds, author } = request;
  verifyEnvelope(bytes, { groupId, ...(docId ? { docId } : {}), ...(kinds ? { kinds } : {}), author: () => author }).then(
    () => port.postMessage({ id } satisfies VerifyAnswer),
    (error: unknown) =>
      port.postMessage(
        (error instanceof EnvelopeError ? { id, code: error.code, message: error.message } : { id, failure: error instanceof Error ? error.name : 'unknown' }) satisfies VerifyAnswer,
      ),
  );
});
