// Invitations end to end through a real relay: the link's secret never reaches the relay;
// pending / admitted / expired / revoked on both sides; the admitted invitee reads the document.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { checkInvitation, GroupInvitation, JoinByInvitation, SealedDoc, throwawayIdentity, WebSocketTransport, type InvitationRequest, type JoinState, type WebSocketLike } from '@sealdoc/core';
import { createInvitation, encodeInvitation, invitationId, sealJoinRequest } from '@sealdoc/crypto';
import { SqliteRelayStore, startRelay } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team } from './clients.js';
import { RawClient } from './raw-client.js';
import { contains, utf8 } from '../../../test/support/bytes.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-invite-'));
  const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
  const server = await startRelay({ store, port: 0 });
  const team = await Team.create(['alice', 'bob'], { bob: 'writer' });
  const alice = await team.connect('alice', server.url);
  const transports: WebSocketTransport[] = [];
  const device = async (name: string) => {
    const t = new WebSocketTransport({ url: server.url, identity: identity(name), WebSocket: Ws, backoff: { minMs: 20, maxMs: 100 } });
    transports.push(t);
    await t.connect();
    return t;
  };
  return {
    dir,
    store,
    server,
    team,
    alice,
    device,
    files: () => readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f)))),
    done: async () => {
      for (const t of transports) await t.disconnect();
      await alice.close();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}


describe('invitations through the relay', () => {
  it('an admin invites by link; the invitee asks, is admitted (new epoch), reads the document; the secret never reaches the relay', async () => {
    const s = await setup();
    try {
      s.alice.doc.getText('t').insert(0, 'Welcome, Carol.');
      await s.alice.sealed.flush();
      const invitation = await GroupInvitation.create({ group: s.alice.group, transport: s.alice.transport, role: 'writer', baseUrl: 'https://app.example/doc?x=1' });
      assert.match(invitation.link, /^https:\/\/app\.example\/doc\?x=1#invite=[A-Za-z0-9_-]+$/);
      assert.equal(invitation.state, 'open');
      const seen: InvitationRequest[] = [];
      invitation.events.on('request', ({ request }) => seen.push({ ...request }));

      const carolTransport = await s.device('carol');
      const join = JoinByInvitation.start(invitation.link, { signer: identity('carol'), transport: carolTransport, name: 'Carol', pollMs: 30 });
      const states: JoinState[] = [];
      join.events.on('state', ({ state }) => states.push(state));
      await eventually(() => seen.length === 1, 5000, 'the admin sees the request');
      assert.equal(seen[0]!.name, 'Carol');
      assert.equal(seen[0]!.state, 'pending');
      assert.equal(seen[0]!.safetyCode, join.safetyCode, 'both sides show the same safety code');
      assert.equal(join.state, 'pending');

      const epoch = s.alice.group.log.epoch;
      await invitation.admit(identity('carol').memberId);
      assert.equal(s.alice.group.log.epoch, epoch + 1);
      assert.equal(invitation.state, 'revoked', 'one link, one person');
      const group = await join.whenAdmitted;
      assert.deepEqual(states, ['pending', 'admitted']);
      assert.equal(group.role, 'writer');

      const doc = new Y.Doc();
      const sealed = new SealedDoc(doc, { group, docId: DOC_ID, transport: carolTransport });
      await eventually(() => doc.getText('t').toString() === 'Welcome, Carol.', 5000, 'the new member reads the document');
      await sealed.destroy();

      // Nothing the relay keeps holds the secret, the code or the name in clear.
      for (const bytes of s.files()) {
        assert.ok(!contains(bytes, invitation.invitation.secret), 'the secret at the relay');
        assert.ok(!contains(bytes, utf8(encodeInvitation(invitation.invitation))), 'the code at the relay');
        assert.ok(!contains(bytes, utf8('Carol')), 'the name at the relay');
      }
      invitation.close();
    } finally {
      await s.done();
    }
  });

  it('revoked, expired and unknown invitations are told as such on both sides; a later request is refused', async () => {
    const s = await setup();
    try {
      const revoked = await GroupInvitation.create({ group: s.alice.group, transport: s.alice.transport, role: 'reader', baseUrl: 'https://app.example/' });
      await revoked.revoke();
      assert.equal(revoked.state, 'revoked');
      const dave = await s.device('dave');
      const j1 = JoinByInvitation.start(revoked.link, { signer: identity('dave'), transport: dave, name: 'Dave', pollMs: 30 });
      await eventually(() => j1.state === 'revoked');
      await assert.rejects(j1.whenAdmitted, { code: 'invite-revoked' });

      const short = await GroupInvitation.create({ group: s.alice.group, transport: s.alice.transport, role: 'reader', baseUrl: 'https://app.example/', validForMs: 150 });
      const states: string[] = [];
      short.events.on('state', ({ state }) => states.push(state));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(short.state, 'expired');
      assert.deepEqual(states, ['expired']);
      const j2 = JoinByInvitation.start(short.link, { signer: identity('dave'), transport: dave, name: 'Dave', pollMs: 30 });
      await eventually(() => j2.state === 'expired');
      // The relay refuses it too, whatever a client believes.
      const raw = await RawClient.connect(s.server.url, identity('dave'));
      raw.send({ type: 'invite-request', ref: 4, inviteId: invitationId(short.invitation), request: await sealJoinRequest(short.invitation, identity('dave'), 'Dave') });
      assert.equal(((await raw.next('error')) as { code: string }).code, 'invite-expired');

      const never = createInvitation(s.team.groupId, 'writer');
      const j3 = JoinByInvitation.start(`https://elsewhere/#invite=${encodeInvitation(never)}`, { signer: identity('dave'), transport: dave, name: 'Dave', pollMs: 30 });
      await eventually(() => j3.state === 'unknown');
      raw.close();
      for (const i of [revoked, short]) i.close();
    } finally {
      await s.done();
    }
  });

  it('a stranger holding only the link (a throwaway key) is told open, admin away, used, cancelled or unknown; an admin takes an invitation up again after a reload and admits the request that came meanwhile', async () => {
    const s = await setup();
    // A stranger: a key pair made for asking, a member of nothing.
    const stranger = new WebSocketTransport({ url: s.server.url, identity: throwawayIdentity(), WebSocket: Ws, backoff: { minMs: 20, maxMs: 100 } });
    const check = (link: string) => checkInvitation(link, stranger);
    try {
      const adminDevice = await s.device('alice');
      const invitation = await GroupInvitation.create({ group: s.alice.group, transport: adminDevice, role: 'writer', baseUrl: 'https://app.example/' });
      const open = await check(invitation.link);
      assert.equal(open.state, 'open');
      assert.equal(open.adminOnline, true, 'the admin’s device watches the group’s invitations');
      assert.equal(open.invitation.role, 'writer');

      // The admin's page goes away (a reload, a closed laptop): nobody can let Carol in now.
      const code = invitation.code;
      invitation.close();
      await adminDevice.disconnect();
      await eventually(async () => (await check(invitation.link)).adminOnline === false, 5000, 'the admin seen away');
      const carol = await s.device('carol');
      const join = JoinByInvitation.start(invitation.link, { signer: identity('carol'), transport: carol, name: 'Carol', pollMs: 30 });
      await eventually(() => join.state === 'pending' && join.adminOnline === false, 5000, 'Carol told the admin is away');

      // Back, with only the code kept on the device: the request that came meanwhile shows.
      const back = await s.device('alice');
      const resumed = GroupInvitation.resume({ group: s.alice.group, transport: back, code, baseUrl: 'https://app.example/' });
      assert.equal(resumed.link, invitation.link);
      await eventually(() => resumed.requests.length === 1, 5000, 'the request that waited');
      assert.equal(resumed.requests[0]!.name, 'Carol');
      assert.equal(resumed.requests[0]!.safetyCode, join.safetyCode);
      await eventually(() => join.adminOnline === true, 5000, 'Carol told the admin is back');
      await resumed.admit(identity('carol').memberId);
      assert.equal((await join.whenAdmitted).role, 'writer');

      // Used: a stranger is told so, and so is a latecomer who asks.
      assert.equal((await check(invitation.link)).state, 'used');
      const dave = await s.device('dave');
      const late = JoinByInvitation.start(invitation.link, { signer: identity('dave'), transport: dave, name: 'Dave', pollMs: 30 });
      await eventually(() => late.state === 'used', 5000, 'the latecomer told it was used');
      await assert.rejects(late.whenAdmitted, { code: 'invite-used' });

      // Cancelled (nobody let in), unknown, expired (the link's own word: the relay is not asked).
      const cancelled = await GroupInvitation.create({ group: s.alice.group, transport: back, role: 'reader', baseUrl: 'https://app.example/' });
      await cancelled.revoke();
      // The admin is online still, but a link that ended shows nothing of them.
      assert.deepEqual(await check(cancelled.link).then(({ state, adminOnline }) => ({ state, adminOnline })), { state: 'revoked', adminOnline: false });
      assert.equal((await check(invitation.link)).adminOnline, false);
      // A guessed link (the right group, a secret of one's own): unknown, as any id the relay never saw.
      assert.deepEqual(await check(`https://app.example/#invite=${encodeInvitation(createInvitation(s.team.groupId, 'writer'))}`).then(({ state, adminOnline }) => ({ state, adminOnline })), { state: 'unknown', adminOnline: false });
      const expired = encodeInvitation({ ...createInvitation(s.team.groupId, 'writer'), expiresAt: Date.now() - 1 });
      const offline = new WebSocketTransport({ url: 'ws://127.0.0.1:9', identity: throwawayIdentity(), WebSocket: Ws });
      assert.equal((await checkInvitation(expired, offline)).state, 'expired');
      await assert.rejects(check('https://app.example/#invite=AAAA'), { name: 'InvitationError' });
      assert.throws(() => GroupInvitation.resume({ group: s.alice.group, transport: back, code: encodeInvitation(createInvitation(new Uint8Array(16).fill(3), 'writer')), baseUrl: 'https://app.example/' }), { name: 'InvitationError', code: 'malformed' });
      for (const i of [resumed, cancelled]) i.close();
    } finally {
      await stranger.disconnect();
      await s.done();
    }
  });

  it('refused: a writer opening an invitation, an oversized request, a request carrying another member’s keys (the admin reports it, lists nothing)', async () => {
    const s = await setup();
    try {
      const bob = await s.team.connect('bob', s.server.url);
      await assert.rejects(GroupInvitation.create({ group: bob.group, transport: bob.transport, role: 'writer', baseUrl: 'https://app.example/' }), { name: 'RelayError', code: 'not-admin' });
      await bob.close();

      const invitation = await GroupInvitation.create({ group: s.alice.group, transport: s.alice.transport, role: 'writer', baseUrl: 'https://app.example/' });
      const errors: Error[] = [];
      invitation.events.on('error', ({ error }) => errors.push(error));
      const mallory = await RawClient.connect(s.server.url, identity('mallory'));
      mallory.send({ type: 'invite-request', ref: 1, inviteId: invitationId(invitation.invitation), request: new Uint8Array(2000) });
      assert.equal(((await mallory.next('error')) as { code: string }).code, 'too-large');
      // Erin's keys, sent by Mallory: sealed correctly, but the relay knows who sent it.
      mallory.send({ type: 'invite-request', ref: 2, inviteId: invitationId(invitation.invitation), request: await sealJoinRequest(invitation.invitation, identity('erin'), 'Erin') });
      await mallory.next('ack');
      await eventually(() => errors.length === 1, 5000, 'the admin reports the forged request');
      assert.equal((errors[0] as { code?: string }).code, 'bad-signature');
      assert.deepEqual(invitation.requests, []);
      mallory.close();
      invitation.close();
    } finally {
      await s.done();
    }
  });
});
