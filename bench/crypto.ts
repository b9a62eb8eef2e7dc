// npm run bench:crypto [-- --json]
// Side by side in one run: sealed envelopes against the bare AEAD at the same size, and
// Ed25519 / X25519 on @noble against WebCrypto. See docs/performance.md.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import {
  Keyring,
  generateMnemonic,
  hpkeDeriveKeyPair,
  hpkeSeal,
  identityFromMnemonic,
  openEnvelope,
  randomId,
  sealEnvelope,
  signMessage,
  useCryptoBackend,
  verifyMessage,
  activeCryptoBackends,
} from '@sealdoc/crypto';
import { opsPerSecond, opsPerSecondInFlight, report, type Row } from './harness.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 1);
const IN_FLIGHT = 16;

async function envelopes(): Promise<Row[]> {
  const author = identityFromMnemonic(generateMnemonic());
  const groupId = randomId();
  const docId = randomId();
  const keyring = new Keyring();
  keyring.add(groupId, 1, crypto.getRandomValues(new Uint8Array(32)));
  const head = new Uint8Array(32);
  const ctx = { groupId, keyring, author: () => ({ signingPublicKey: author.signingPublicKey, role: 'writer' as const }) };
  const rows: Row[] = [];
  for (const [label, size] of [['32 B', 32], ['1 KiB', 1024], ['64 KiB', 65536]] as const) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const seal = () => sealEnvelope({ kind: 'update', groupId, docId, epoch: 1, seq: 1, head, author, keyring, plaintext });
    const sealed = await seal();
    const key = crypto.getRandomValues(new Uint8Array(32));
    const nonce = crypto.getRandomValues(new Uint8Array(24));
    const bareCiphertext = xchacha20poly1305(key, nonce).encrypt(plaintext);
    const aeadSeal = await opsPerSecond(() => xchacha20poly1305(key, nonce).encrypt(plaintext), seconds);
    const aeadOpen = await opsPerSecond(() => xchacha20poly1305(key, nonce).decrypt(bareCiphertext), seconds);
    const sealRate = await opsPerSecond(seal, seconds);
    const openRate = await opsPerSecond(() => openEnvelope(sealed, ctx), seconds);
    const mb = (rate: number) => (rate * size) / 1e6;
    rows.push(
      { name: `aead-seal ${label}`, ratio: 1, baseline: 'itself', ops_s: aeadSeal, mb_s: mb(aeadSeal) },
      { name: `envelope-seal ${label}`, ratio: aeadSeal / sealRate, baseline: `aead-seal ${label}`, ops_s: sealRate, mb_s: mb(sealRate) },
      { name: `aead-open ${label}`, ratio: 1, baseline: 'itself', ops_s: aeadOpen, mb_s: mb(aeadOpen) },
      { name: `envelope-open ${label}`, ratio: aeadOpen / openRate, baseline: `aead-open ${label}`, ops_s: openRate, mb_s: mb(openRate) },
    );
  }
  return rows;
}

async function curves(): Promise<Row[]> {
  const author = identityFromMnemonic(generateMnemonic());
  const message = new Uint8Array(200);
  const signature = await signMessage(author, 'bench', message);
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const pk = ed25519.getPublicKey(seed);
  const rawSig = ed25519.sign(message, seed);
  const recipient = hpkeDeriveKeyPair(crypto.getRandomValues(new Uint8Array(32)));
  const xsk = crypto.getRandomValues(new Uint8Array(32));

  const nobleSign = await opsPerSecond(() => ed25519.sign(message, seed), seconds);
  const nobleVerify = await opsPerSecond(() => ed25519.verify(rawSig, message, pk, { zip215: false }), seconds);
  const nobleX = await opsPerSecond(() => x25519.getSharedSecret(xsk, recipient.publicKey), seconds);
  const rates: Record<string, number> = {};
  for (const backend of ['noble', 'webcrypto'] as const) {
    useCryptoBackend(backend);
    rates[`sign ${backend}`] = await opsPerSecond(() => signMessage(author, 'bench', message), seconds);
    rates[`verify ${backend}`] = await opsPerSecond(() => verifyMessage(author.signingPublicKey, 'bench', message, signature), seconds);
    rates[`wrap ${backend}`] = await opsPerSecond(() => hpkeSeal(recipient.publicKey, new Uint8Array(32)), seconds);
  }
  useCryptoBackend('webcrypto');
  const verifyInFlight = await opsPerSecondInFlight(() => verifyMessage(author.signingPublicKey, 'bench', message, signature), IN_FLIGHT, seconds);
  const wrapInFlight = await opsPerSecondInFlight(() => hpkeSeal(recipient.publicKey, new Uint8Array(32)), IN_FLIGHT, seconds);
  useCryptoBackend('auto');

  const row = (name: string, ops: number, base: string, baseOps: number): Row => ({ name, ratio: ops / baseOps, baseline: base, ops_s: ops });
  return [
    row('ed25519-sign noble (raw)', nobleSign, 'itself', nobleSign),
    row('ed25519-sign noble', rates['sign noble']!, 'ed25519-sign noble (raw)', nobleSign),
    row('ed25519-sign webcrypto', rates['sign webcrypto']!, 'ed25519-sign noble (raw)', nobleSign),
    row('ed25519-verify noble (raw)', nobleVerify, 'itself', nobleVerify),
    row('ed25519-verify noble', rates['verify noble']!, 'ed25519-verify noble (raw)', nobleVerify),
    row('ed25519-verify webcrypto', rates['verify webcrypto']!, 'ed25519-verify noble (raw)', nobleVerify),
    row(`ed25519-verify webcrypto x${IN_FLIGHT} in flight`, verifyInFlight, 'ed25519-verify noble (raw)', nobleVerify),
    row('x25519 noble (raw)', nobleX, 'itself', nobleX),
    row('hpke-wrap noble', rates['wrap noble']!, 'x25519 noble (raw)', nobleX),
    row('hpke-wrap webcrypto', rates['wrap webcrypto']!, 'x25519 noble (raw)', nobleX),
    row(`hpke-wrap webcrypto x${IN_FLIGHT} in flight`, wrapInFlight, 'x25519 noble (raw)', nobleX),
  ];
}

const backends = await activeCryptoBackends();
report(`Sealed envelopes vs the bare XChaCha20-Poly1305 (ratio = how many times slower; backends ${JSON.stringify(backends)})`, await envelopes());
report('Curves: noble vs WebCrypto (ratio = speed-up over raw noble; wrap = one HPKE seal of a 32-byte secret)', await curves());
