/**
 * Opening many envelopes at once (a catch-up, a fetched range): every envelope gets every check
 * {@link openEnvelope} makes, but a run of one author's envelopes in one document costs one
 * signature check instead of one each. A version 2 envelope names the hash of its author's
 * previous envelope in the document (`prev`); once an envelope's signature verifies, its author
 * vouches for the exact bytes of the envelope it names, which then needs no signature check of
 * its own, and so on down the run.
 *
 * Only a verified link vouches: an envelope that fails any check vouches for nothing, the
 * envelope below it is then checked by its own signature, and a link is taken only between two
 * envelopes of one author and one document under the same signing key. An envelope no one in
 * the batch vouches for is checked by its signature as before, so a broken or missing chain
 * costs time, never safety. docs/envelope.md, "Chains".
 * @module
 */
import { _equal, _hex, _wipe } from './bytes.js';
import { _sha256, _sha256Now } from './digest.js';
import { EnvelopeError } from './errors.js';
import {
  _checkEnvelope,
  _checkEnvelopeSignature,
  _decodedOf,
  _decryptEnvelope,
  type _Decoded,
  type EnvelopeAuthor,
  type EnvelopeHeader,
  type OpenContext,
  type OpenedEnvelope,
  type ReadEnvelope,
} from './envelope.js';

/** At most this many signature checks a batch makes on the calling thread (see openEnvelopes). */
const INLINE_CHECKS = 4;

/** What became of one envelope of a batch: opened, or refused with the error {@link openEnvelope} would throw. */
export type EnvelopeOutcome = ({ ok: true } & OpenedEnvelope) | { ok: false; error: unknown };

/** What {@link openEnvelopes} reports beside the outcomes. */
export interface BatchStats {
  /** Signatures verified (the rest were vouched for by their author's next envelope). */
  signaturesChecked: number;
}

interface Item {
  d: _Decoded;
  author: EnvelopeAuthor;
  /** The author's next envelope in this batch that names this one's hash, when one does. */
  vouchedBy?: Item;
  authentic?: Promise<boolean>;
}

/**
 * Opens `envelopes` against `ctx`; the outcomes come in the same order. Never throws for a
 * bad envelope: each refusal is an outcome with its EnvelopeError, and changes nothing. An
 * envelope may be given as {@link readEnvelope} parsed it: it is not parsed again.
 */
export async function openEnvelopes(envelopes: readonly (Uint8Array | ReadEnvelope)[], ctx: OpenContext, stats?: BatchStats): Promise<EnvelopeOutcome[]> {
  const outcomes: (EnvelopeOutcome | Item)[] = envelopes.map((envelope) => {
    try {
      const d = _decodedOf(envelope, ctx.maxBytes);
      return { d, author: _checkEnvelope(d, ctx) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const items = outcomes.filter((o): o is Item => 'd' in o);
  await linkRuns(items);
  // A few checks that vouch for more envelopes (a catch-up's runs) are made on the calling
  // thread where the platform can: everything waits for them, and a thread-pool round trip
  // costs more time than the check (Node: about 0.3 against 0.07 ms). Many checks, or one
  // envelope's own (live sync), go to the pool as before, off the thread that runs Yjs.
  const checks = items.filter((item) => !item.vouchedBy).length;
  const here = checks <= INLINE_CHECKS && checks < items.length;
  const authentic = (item: Item): Promise<boolean> =>
    (item.authentic ??= (async () => {
      if (item.vouchedBy && (await authentic(item.vouchedBy))) return true;
      if (stats) stats.signaturesChecked++;
      try {
        await _checkEnvelopeSignature(item.d, item.author, here || undefined);
        return true;
      } catch {
        return false;
      }
    })());
  const verdicts = new Map<Item, boolean>();
  await Promise.all(items.map(async (item) => verdicts.set(item, await authentic(item))));
  // Decrypted in one synchronous pass, each (epoch, kind) key looked up once: every envelope
  // here passed _checkEnvelope, so its group is the context's, and so is its document when one
  // is set. The pass keeps copies (the keyring may wipe a key it evicts), wiped at its end.
  const docKeys = new Map<string, Uint8Array>();
  const docKeyOf = (h: EnvelopeHeader): Uint8Array | undefined => {
    if (ctx.docId === undefined) return ctx.keyring._docKey(h.groupId, h.epoch, h.docId, h.kind);
    const id = `${h.epoch}:${h.kind}`;
    let key = docKeys.get(id);
    if (!key) {
      key = ctx.keyring._docKey(h.groupId, h.epoch, h.docId, h.kind)?.slice();
      if (key) docKeys.set(id, key);
    }
    return key;
  };
  try {
    return outcomes.map((o): EnvelopeOutcome => {
      if (!('d' in o)) return o;
      if (!verdicts.get(o)) return { ok: false, error: new EnvelopeError('bad-signature', 'envelope signature does not verify') };
      try {
        return { ok: true, ..._decryptEnvelope(o.d, ctx.keyring, docKeyOf) };
      } catch (error) {
        return { ok: false, error };
      }
    });
  } finally {
    for (const key of docKeys.values()) _wipe(key);
  }
}

/**
 * Finds, for each envelope naming a `prev`, the envelope of the same author, document and key
 * just below it in sequence numbers whose hash it names. Only candidates are hashed.
 */
async function linkRuns(items: Item[]): Promise<void> {
  const runs = new Map<string, Item[]>();
  for (const item of items) {
    const { header } = item.d;
    if (header.kind === 'awareness') continue;
    const key = `${_hex(header.author)}:${_hex(header.docId)}`;
    const run = runs.get(key);
    if (run) run.push(item);
    else runs.set(key, [item]);
  }
  const links: Promise<void>[] = [];
  // Each envelope hashed once at most, however many copies above name it (a relay could send
  // many copies of two numbers: pairing them must not hash anything twice).
  const hashes = new Map<Item, Promise<Uint8Array>>();
  const hashOf = (item: Item) => {
    let hash = hashes.get(item);
    if (!hash) hashes.set(item, (hash = _sha256(item.d.bytes)));
    return hash;
  };
  for (const run of runs.values()) {
    if (run.length < 2) continue;
    run.sort((a, b) => a.d.header.seq - b.d.header.seq);
    for (let i = 1; i < run.length; i++) {
      const upper = run[i]!;
      const prev = upper.d.header.prev;
      if (!prev) continue;
      // Every envelope with the largest sequence number below (copies and forgeries share one).
      const below = run[i - 1]!.d.header.seq;
      if (below === upper.d.header.seq) continue;
      for (let j = i - 1; j >= 0 && run[j]!.d.header.seq === below; j--) {
        const lower = run[j]!;
        if (lower.vouchedBy || !_equal(lower.author.signingPublicKey, upper.author.signingPublicKey)) continue;
        // Hashed at once where the platform hashes natively (no promise per link).
        const now = hashes.has(lower) ? undefined : _sha256Now(lower.d.bytes);
        if (now) {
          hashes.set(lower, Promise.resolve(now));
          if (_equal(now, prev)) lower.vouchedBy = upper;
          continue;
        }
        links.push(
          hashOf(lower).then((hash) => {
            if (_equal(hash, prev) && !lower.vouchedBy) lower.vouchedBy = upper;
          }),
        );
      }
    }
  }
  await Promise.all(links);
}
