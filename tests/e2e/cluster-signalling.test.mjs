// One share across three Janus nodes and nats-server (startServer({nodes: 3})), at the protocol's
// level: members on different nodes join, hear of each other, signal each other; a node killed
// takes its members with it a lease later and its client joins again elsewhere; an engine
// restarted loses nobody; a share held nowhere is answered at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { janusSession, startServer } from './harness.mjs';

let server;
const clients = [];

before(async () => {
  server = await startServer({ nodes: 3 });
});

after(async () => {
  for (const client of clients) client.close();
  await server?.stop();
});

const node = (id) => server.nodes.find((n) => n.id === id);

async function on(id) {
  const client = await janusSession(node(id).wsUrl);
  clients.push(client);
  return client;
}

async function stats(id) {
  const client = await on(id);
  const answer = await client.request({ request: 'stats', admin_key: server.adminKey });
  client.close();
  return answer;
}

test('members on three nodes join one share, are listed and announced across nodes, and signal each other once', async () => {
  const owner = await on('a');
  const created = await owner.request({ request: 'create' });
  assert.equal(created.swarmdrop, 'created');
  const b = await on('b');
  const joined = await b.request({ request: 'join', share: created.share });
  assert.equal(joined.swarmdrop, 'joined', JSON.stringify(joined));
  assert.deepEqual(joined.peers.map((p) => p.peer), [created.peer]);
  const heard = await owner.pluginEvent('peer_joined');
  assert.equal(heard.plugindata.data.peer, joined.peer);
  const c = await on('c');
  const third = await c.request({ request: 'join', share: created.share });
  assert.deepEqual(third.peers.map((p) => p.peer).sort(), [created.peer, joined.peer].sort());
  await b.pluginEvent('peer_joined', { filter: (e) => e.peer === third.peer });

  const signalled = await c.request({ request: 'signal', share: created.share, to: joined.peer, payload: { sdp: 'offer' } });
  assert.equal(signalled.swarmdrop, 'signalled');
  const signal = await b.pluginEvent('signal');
  assert.deepEqual([signal.plugindata.data.from, signal.plugindata.data.payload], [third.peer, { sdp: 'offer' }]);
  await c.request({ request: 'signal', share: created.share, to: created.peer, payload: { n: 1 } });
  await owner.pluginEvent('signal', { filter: (e) => e.from === third.peer });
  await sleep(300);
  assert.equal(b.events.filter((m) => m.plugindata?.data?.event === 'signal').length, 1);

  const left = await b.request({ request: 'leave', share: created.share });
  assert.equal(left.swarmdrop, 'left');
  await owner.pluginEvent('peer_left', { filter: (e) => e.peer === joined.peer });
  await c.pluginEvent('peer_left', { filter: (e) => e.peer === joined.peer });
  const bStats = await stats('b');
  assert.equal(bStats.cluster.node, 'b');
  assert.equal(bStats.cluster.mirrored, 0); // b holds no member of it any more
  const cStats = await stats('c');
  assert.ok(cStats.cluster.signals_out >= 2 && cStats.cluster.facts_in >= 1, JSON.stringify(cStats.cluster));
});

test('a share made on one node is found by a join on another a moment later, every time', async () => {
  const owner = await on('a');
  const joiner = await on('b');
  const refused = [];
  for (let i = 0; i < 40; i += 1) {
    const created = await owner.request({ request: 'create' });
    const joined = await joiner.request({ request: 'join', share: created.share });
    if (joined.swarmdrop !== 'joined') refused.push(joined.error_code);
    await joiner.request({ request: 'leave', share: created.share });
    await owner.request({ request: 'close', share: created.share, owner_token: created.owner_token });
  }
  assert.deepEqual(refused, []);
});

test('a share held nowhere is answered at once from any node, and its owner makes it again there', async () => {
  const owner = await on('a');
  const created = await owner.request({ request: 'create' });
  await owner.request({ request: 'close', share: created.share, owner_token: created.owner_token });
  const b = await on('b');
  const started = Date.now();
  const refused = await b.request({ request: 'join', share: created.share });
  assert.equal(refused.error_code, 445);
  assert.ok(Date.now() - started < 150, `answered after ${Date.now() - started} ms`); // not after cluster_lookup_ms
  const restored = await b.request({ request: 'join', share: created.share, owner_token: created.owner_token });
  assert.equal(restored.role, 'owner');
});

test('a node killed: its client joins again on another node at once with its secret, and the others keep it; the node comes back', async () => {
  const owner = await on('a');
  const created = await owner.request({ request: 'create' });
  const moving = await on('c');
  const first = await moving.request({ request: 'join', share: created.share });
  await owner.pluginEvent('peer_joined', { filter: (e) => e.peer === first.peer });
  await node('c').kill();
  // b holds nothing of the share: it asks, c cannot answer, a tells of its own members only.
  const again = await on('b');
  const rejoined = await again.request({ request: 'join', share: created.share, peer_secret: first.peer_secret });
  assert.equal(rejoined.peer, first.peer, JSON.stringify(rejoined));
  // a takes b's record of the member as the newer: when c's lease ends, it is not taken away.
  await sleep(8000);
  assert.equal(owner.events.filter((m) => m.plugindata?.data?.event === 'peer_left').length, 0);
  const aStats = await stats('a');
  assert.deepEqual(aStats.cluster.nodes.find((n) => n.node === 'c')?.alive, false, JSON.stringify(aStats.cluster));
  await node('c').start();
  const back = await on('c');
  const newcomer = await back.request({ request: 'join', share: created.share });
  assert.deepEqual(newcomer.peers.map((p) => p.peer).sort(), [created.peer, first.peer].sort());
  await again.pluginEvent('peer_joined', { filter: (e) => e.peer === newcomer.peer });
});

test('a member on a node that dies leaves the share for the others a lease later', async () => {
  const owner = await on('a');
  const created = await owner.request({ request: 'create' });
  const doomed = await on('c');
  const joined = await doomed.request({ request: 'join', share: created.share });
  await owner.pluginEvent('peer_joined', { filter: (e) => e.peer === joined.peer });
  await node('c').kill();
  const killedAt = Date.now();
  await owner.pluginEvent('peer_left', { filter: (e) => e.peer === joined.peer, ms: 15_000 });
  const gone = (Date.now() - killedAt) / 1000;
  console.log(`node c killed: its member left on a after ${gone.toFixed(1)} s`);
  assert.ok(gone < 8, `${gone} s`);
  await node('c').start();
});

test('an engine restarted loses nobody: members stay, and a newcomer joins across nodes afterwards', async () => {
  const owner = await on('a');
  const created = await owner.request({ request: 'create' });
  const b = await on('b');
  const joined = await b.request({ request: 'join', share: created.share });
  await owner.pluginEvent('peer_joined', { filter: (e) => e.peer === joined.peer });
  await server.engine.kill();
  await sleep(8000); // longer than a lease: nobody is judged while the engine is away
  await server.engine.start();
  await sleep(2000);
  assert.equal(owner.events.filter((m) => m.plugindata?.data?.event === 'peer_left').length, 0);
  const c = await on('c');
  const newcomer = await c.request({ request: 'join', share: created.share });
  assert.deepEqual(newcomer.peers.map((p) => p.peer).sort(), [created.peer, joined.peer].sort());
  await b.pluginEvent('peer_joined', { filter: (e) => e.peer === newcomer.peer });
  const aStats = await stats('a');
  assert.ok(aStats.cluster.resyncs >= 1, JSON.stringify(aStats.cluster));
});
