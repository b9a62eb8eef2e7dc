import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHub, type MemoryTransport } from '@sealdoc/core/testing';
import { transportConformance } from '@sealdoc/core/testing/conformance';

transportConformance('MemoryHub without faults', async () => {
  const hub = new MemoryHub({ maxMessageBytes: 2 * 1024 * 1024 });
  return { transports: [hub.transport('a'), hub.transport('b'), hub.transport('c')], settle: () => hub.flush() };
});

async function network(options: ConstructorParameters<typeof MemoryHub>[0], names = ['a', 'b', 'c']) {
  const hub = new MemoryHub(options);
  const peers = names.map((n) => hub.transport(n));
  const inboxes = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const p of peers) {
    p.events.on('message', ({ message }) => inboxes.get(p.peerId)!.push(message.type === 'ping' ? message.nonce : -1));
    await p.connect();
  }
  return { hub, peers, inboxes };
}

const send = (from: MemoryTransport, count: number, to?: string) => {
  for (let i = 0; i < count; i++) from.send({ type: 'ping', nonce: i }, to);
};

describe('MemoryHub faults', () => {
  it('drop: about the share asked for is lost, and the stats say so', async () => {
    const { hub, peers, inboxes } = await network({ seed: 7, faults: { drop: 0.3 } });
    send(peers[0]!, 200, 'b');
    await hub.flush();
    const got = inboxes.get('b')!.length;
    assert.ok(got > 100 && got < 180, `${got} of 200 arrived`);
    assert.equal(hub.stats.dropped + got, 200);
  });

  it('duplicate: every message arrives twice when asked', async () => {
    const { hub, peers, inboxes } = await network({ seed: 1, faults: { duplicate: 1 } });
    send(peers[0]!, 10, 'b');
    await hub.flush();
    assert.equal(inboxes.get('b')!.length, 20);
    assert.deepEqual(new Set(inboxes.get('b')), new Set(Array.from({ length: 10 }, (_, i) => i)));
  });

  it('reorder and delay: everything arrives, not in order', async () => {
    const { hub, peers, inboxes } = await network({ seed: 3, faults: { reorder: 0.3, delay: [0, 5] } });
    send(peers[0]!, 100, 'b');
    await hub.flush();
    const got = inboxes.get('b')!;
    assert.deepEqual([...got].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.notDeepEqual(got, [...got].sort((x, y) => x - y));
    assert.ok(hub.stats.reordered > 0);
  });

  it('partition: only peers of one group reach each other, until healed', async () => {
    const { hub, peers, inboxes } = await network({ seed: 1 });
    const [a, b] = peers;
    const gone: string[] = [];
    a!.events.on('peer', ({ peer, present }) => !present && gone.push(peer));
    hub.partition(['a', 'c'], ['b']);
    assert.deepEqual(a!.peers(), ['c']);
    assert.deepEqual(gone, ['b']);
    send(a!, 3);
    send(b!, 3);
    await hub.flush();
    assert.deepEqual(inboxes.get('b'), []);
    assert.deepEqual(inboxes.get('c'), [0, 1, 2]);
    hub.heal();
    send(a!, 1, 'b');
    await hub.flush();
    assert.deepEqual(inboxes.get('b'), [0]);
  });

  it('a message in flight to a peer that leaves is lost', async () => {
    const { hub, peers, inboxes } = await network({ seed: 1, faults: { delay: [5, 5] } });
    send(peers[0]!, 1, 'b');
    await peers[1]!.disconnect();
    await hub.flush();
    assert.deepEqual(inboxes.get('b'), []);
    assert.equal(hub.stats.unreachable, 1);
  });

  it('the same seed gives the same faults', async () => {
    const run = async () => {
      const { hub, peers, inboxes } = await network({ seed: 42, faults: { drop: 0.2, duplicate: 0.2, reorder: 0.2, delay: [0, 3] } });
      send(peers[0]!, 100, 'b');
      await hub.flush();
      return { stats: { ...hub.stats }, arrived: [...inboxes.get('b')!].sort((x, y) => x - y) };
    };
    assert.deepEqual(await run(), await run());
  });

  it('refuses a duplicate peer id', () => {
    const hub = new MemoryHub();
    hub.transport('a');
    assert.throws(() => hub.transport('a'), { code: 'bad-message' });
  });
});
