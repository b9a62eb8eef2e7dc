// Envelope format version 2 names the author's previous envelope (`prev`), and openEnvelopes
// checks one signature for a run of them. Every envelope still gets every other check; a
// forged, flipped, replaced or foreign envelope in a run is refused and vouches for nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENVELOPE_VERSION,
  EnvelopeError,
  envelopeHash,
  Keyring,
  openEnvelope,
  openEnvelopes,
  readEnvelope,
  readEnvelopeHeader,
  sealEnvelope,
  type BatchStats,
  type EnvelopeOutcome,
  type OpenContext,
} from '@sealdoc/crypto';
import { envelopeFixture, flipBit, hex, testIdentity, toHex, utf8 } from './helpers.js';
import { ENVELOPE_V1_HEX } from './vectors/envelope-v1.js';

type Fixture = ReturnType<typeof envelopeFixture>;

/** A run of `n` updates by the fixture's author, each naming the one before. */
async function run(f: Fixture, n: number, from = 1, prev?: Uint8Array): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let seq = from; seq < from + n; seq++) {
    const bytes = await sealEnvelope({ kind: 'update', groupId: f.groupId, docId: f.docId, epoch: 3, seq, head: f.head, author: f.author, keyring: f.keyring, plaintext: utf8(`edit ${seq}`), ...(prev ? { prev } : {}) });
    prev = await envelopeHash(bytes);
    out.push(bytes);
  }
  return out;
}

const text = (o: EnvelopeOutcome) => (o.ok ? new TextDecoder().decode(o.plaintext) : `refused: ${(o.error as EnvelopeError).code}`);

async function open(list: Uint8Array[], ctx: OpenContext): Promise<{ outcomes: EnvelopeOutcome[]; stats: BatchStats }> {
  const stats = { signaturesChecked: 0 };
  return { outcomes: await openEnvelopes(list, ctx, stats), stats };
}

describe('envelope format version 2: prev', () => {
  it('writes version 2 and names the previous envelope', async () => {
    const f = envelopeFixture();
    const [a, b] = await run(f, 2);
    assert.equal(ENVELOPE_VERSION, 2);
    assert.equal(readEnvelopeHeader(a!).version, 2);
    assert.equal(readEnvelopeHeader(a!).prev, undefined);
    assert.deepEqual(readEnvelopeHeader(b!).prev, await envelopeHash(a!));
  });

  it('still opens an envelope of version 1, written by the code before prev', async () => {
    const author = testIdentity('alice');
    const keyring = new Keyring();
    keyring.add(new Uint8Array(16).fill(1), 3, new Uint8Array(32).fill(4));
    const ctx: OpenContext = {
      groupId: new Uint8Array(16).fill(1),
      docId: new Uint8Array(16).fill(2),
      keyring,
      author: (h) => (toHex(h.author) === toHex(author.memberId) && h.epoch === 3 ? { signingPublicKey: author.signingPublicKey, role: 'writer' } : undefined),
    };
    const v1 = hex(ENVELOPE_V1_HEX);
    const { header, plaintext } = await openEnvelope(v1, ctx);
    assert.equal(header.version, 1);
    assert.equal(header.seq, 7);
    assert.equal(header.prev, undefined);
    assert.equal(new TextDecoder().decode(plaintext), 'written by version 1');
    const [outcome] = await openEnvelopes([v1], ctx);
    assert.equal(text(outcome!), 'written by version 1');
  });

  it('an awareness envelope names no previous envelope', async () => {
    const f = envelopeFixture();
    await assert.rejects(
      sealEnvelope({ kind: 'awareness', groupId: f.groupId, docId: f.docId, epoch: 3, seq: 1, head: f.head, author: f.author, keyring: f.keyring, plaintext: utf8('x'), prev: new Uint8Array(32).fill(1) }),
      /names no previous envelope/,
    );
    // Read back: an awareness envelope whose prev is not zero is malformed, before any signature.
    const awareness = await f.seal(utf8('x'), 'awareness', 1);
    const named = awareness.slice();
    named[110] = 1;
    await assert.rejects(openEnvelope(named, f.ctx), (e: unknown) => e instanceof EnvelopeError && e.code === 'malformed');
    assert.throws(() => readEnvelopeHeader(named), (e: unknown) => e instanceof EnvelopeError && e.code === 'malformed');
  });
});

describe('openEnvelopes: one signature per run', () => {
  it('opens a run of 100 with one signature check, in input order', async () => {
    const f = envelopeFixture();
    const list = await run(f, 100);
    const shuffled = [...list].reverse();
    const { outcomes, stats } = await open(shuffled, f.ctx);
    assert.deepEqual(outcomes.map(text), shuffled.map((_, i) => `edit ${100 - i}`));
    assert.equal(stats.signaturesChecked, 1);
  });

  it('takes envelopes as readEnvelope parsed them: the same outcomes and checks as from their bytes', async () => {
    const f = envelopeFixture();
    const list = await run(f, 6);
    const mixed = [list[0]!, flipBit(list[1]!, 600), list[2]!, list[3]!, flipBit(list[4]!, 40), list[5]!];
    const fromBytes = await open(mixed, f.ctx);
    const stats = { signaturesChecked: 0 };
    const parsed = mixed.map((bytes) => readEnvelope(bytes));
    const fromParsed = await openEnvelopes(parsed, f.ctx, stats);
    assert.deepEqual(fromParsed.map(text), fromBytes.outcomes.map(text));
    assert.equal(stats.signaturesChecked, fromBytes.stats.signaturesChecked);
    // A smaller limit in the context still applies to what was parsed under the default one.
    const [small] = await openEnvelopes([readEnvelope(list[0]!)], { ...f.ctx, maxBytes: list[0]!.length - 1 });
    assert.equal(text(small!), 'refused: too-large');
  });

  it('an object that only looks like a parsed envelope is refused as input, whatever its header says', async () => {
    const f = envelopeFixture();
    const [a] = await run(f, 1);
    const other = envelopeFixture();
    // The header claims the fixture's group, document and author; the bytes are another group's.
    const [foreign] = await run(other, 1);
    const outcomes = await openEnvelopes([{ bytes: foreign!, header: readEnvelopeHeader(a!) }, { bytes: a!, header: readEnvelopeHeader(a!) }], f.ctx);
    assert.deepEqual(outcomes.map(text), ['refused: bad-input', 'refused: bad-input']);
  });

  it('gives the same outcome as openEnvelope for every envelope, good or bad', async () => {
    const f = envelopeFixture();
    const list = await run(f, 6);
    const mixed = [list[0]!, flipBit(list[1]!, 600), utf8('junk'), list[3]!, list[4]!, list[5]!];
    const { outcomes } = await open(mixed, f.ctx);
    for (let i = 0; i < mixed.length; i++) {
      const single = await openEnvelope(mixed[i]!, f.ctx).then(
        ({ plaintext }) => new TextDecoder().decode(plaintext),
        (e: EnvelopeError) => `refused: ${e.code}`,
      );
      assert.equal(text(outcomes[i]!), single, `envelope ${i}`);
    }
  });

  it('a forged envelope in the middle is refused; the rest open, checked by their own signatures where the chain broke', async () => {
    const f = envelopeFixture();
    const list = await run(f, 10);
    const forged = list.slice();
    forged[4] = flipBit(list[4]!, (list[4]!.length - 100) * 8); // a ciphertext bit: the signature breaks
    const { outcomes, stats } = await open(forged, f.ctx);
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, true, false, true, true, true, true, true]);
    assert.equal((outcomes[4] as { error: EnvelopeError }).error.code, 'bad-signature');
    // The top, then the forgery (which vouches for nothing), then envelope 4 below it by its own.
    assert.equal(stats.signaturesChecked, 3);
  });

  it('a relay that replaces the top with its own bytes naming the real prev gains nothing', async () => {
    const f = envelopeFixture();
    const list = await run(f, 5);
    const header = readEnvelopeHeader(list[4]!);
    // Same header (prev included), other ciphertext, a signature by someone else.
    const fake = list[4]!.slice();
    fake.set(crypto.getRandomValues(new Uint8Array(64)), fake.length - 64);
    assert.deepEqual(readEnvelopeHeader(fake).prev, header.prev);
    const { outcomes } = await open([...list.slice(0, 4), fake], f.ctx);
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, true, false]);
  });

  it('another member cannot vouch for an author’s envelope, even naming its hash', async () => {
    const f = envelopeFixture();
    const mallory = testIdentity('mallory');
    const ctx: OpenContext = {
      ...f.ctx,
      author: (h) =>
        toHex(h.author) === toHex(mallory.memberId) ? { signingPublicKey: mallory.signingPublicKey, role: 'writer' } : f.ctx.author(h),
    };
    const [real] = await run(f, 1);
    // A copy of Alice's envelope 1 with its signature broken, and Mallory's envelope naming its hash.
    const broken = flipBit(real!, (real!.length - 1) * 8);
    const malloryNext = await sealEnvelope({ kind: 'update', groupId: f.groupId, docId: f.docId, epoch: 3, seq: 2, head: f.head, author: mallory, keyring: f.keyring, plaintext: utf8('m'), prev: await envelopeHash(broken) });
    const { outcomes } = await open([broken, malloryNext], ctx);
    assert.deepEqual(outcomes.map((o) => o.ok), [false, true]);
  });

  it('an envelope that fails another check (not a member at its epoch) vouches for nothing', async () => {
    const f = envelopeFixture();
    const list = await run(f, 3);
    const broken = flipBit(list[1]!, (list[1]!.length - 1) * 8);
    // Epoch 4's envelope by the same author: the context says no member then.
    f.keyring.add(f.groupId, 4, crypto.getRandomValues(new Uint8Array(32)));
    const later = await sealEnvelope({ kind: 'update', groupId: f.groupId, docId: f.docId, epoch: 4, seq: 3, head: f.head, author: f.author, keyring: f.keyring, plaintext: utf8('x'), prev: await envelopeHash(broken) });
    const { outcomes } = await open([list[0]!, broken, later], f.ctx);
    assert.deepEqual(outcomes.map((o) => (o.ok ? 'ok' : (o.error as EnvelopeError).code)), ['ok', 'bad-signature', 'not-a-member']);
  });

  it('runs of several authors and documents, copies and gaps: every envelope opens, one check per run', async () => {
    const f = envelopeFixture();
    const other = envelopeFixture();
    const a = await run(f, 20);
    const b = await run(f, 10, 30); // a gap in sequence numbers (another document's envelopes), a new run
    const c = await run(other, 15);
    const ctx: OpenContext = { ...f.ctx, author: (h) => f.ctx.author(h) };
    const all = [...a, ...b, ...a.slice(0, 5)];
    const { outcomes, stats } = await open(all, ctx);
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(stats.signaturesChecked, 2);
    // Another group's run is refused whole, with the single-envelope code.
    const refused = await openEnvelopes(c, ctx);
    assert.ok(refused.every((o) => !o.ok && (o.error as EnvelopeError).code === 'wrong-group'));
  });

  it('every single-bit flip of one envelope in a run: that envelope refused, every other opened', async () => {
    const f = envelopeFixture();
    const list = await run(f, 3);
    const target = list[1]!;
    for (let bit = 0; bit < target.length * 8; bit += 7) {
      const outcomes = await openEnvelopes([list[0]!, flipBit(target, bit), list[2]!], f.ctx);
      assert.equal(outcomes[1]!.ok, false, `bit ${bit}`);
      assert.ok(outcomes[1]!.ok || outcomes[1]!.error instanceof EnvelopeError);
      assert.ok(outcomes[0]!.ok && outcomes[2]!.ok, `bit ${bit}: the others`);
    }
  });
});
