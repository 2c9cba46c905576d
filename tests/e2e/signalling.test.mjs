// The plugin over the real Janus WebSocket API: requests, events, and a burst of malformed
// input that must leave Janus serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { janusSession, startServer, tempDir } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test('create, join, list, signal, leave deliver the documented events', async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  try {
    const created = await owner.request({ request: 'create' });
    assert.equal(created.swarmdrop, 'created');
    assert.match(created.share, /^[0-9a-f]{16}$/);
    assert.match(created.owner_token, /^[0-9a-f]{32}$/);

    const joined = await receiver.request({ request: 'join', share: created.share });
    assert.equal(joined.swarmdrop, 'joined');
    // Ranked for the asker (docs/protocol.md, "The tracker"): the owner holds everything.
    assert.deepEqual(joined.peers, [{ peer: created.peer, role: 'owner', tier: 'other', complete: true }]);
    assert.equal(joined.max_links, 8);
    const announced = await owner.pluginEvent('peer_joined');
    assert.equal(announced.plugindata.data.peer, joined.peer);
    assert.equal(announced.plugindata.data.tier, 'other'); // no address known: placed nowhere near

    const listed = await owner.request({ request: 'list', share: created.share });
    assert.deepEqual(listed.peers.map((p) => p.peer), [joined.peer]); // the others, not the asker

    const payload = { kind: 'sdp', sdp: { type: 'offer', sdp: 'v=0\r\n' } };
    const signalled = await receiver.request({ request: 'signal', share: created.share, to: created.peer, payload });
    assert.equal(signalled.swarmdrop, 'signalled');
    const delivered = await owner.pluginEvent('signal');
    assert.equal(delivered.plugindata.data.from, joined.peer);
    assert.deepEqual(delivered.plugindata.data.payload, payload);

    assert.equal((await receiver.request({ request: 'leave', share: created.share })).swarmdrop, 'left');
    const left = await owner.pluginEvent('peer_left');
    assert.equal(left.plugindata.data.peer, joined.peer);

    await receiver.request({ request: 'join', share: created.share });
    // The owner leaving is not stopping: the share goes on with its receivers.
    assert.equal((await owner.request({ request: 'leave', share: created.share })).swarmdrop, 'left');
    assert.equal((await receiver.pluginEvent('peer_left', { filter: (d) => d.peer === created.peer })).plugindata.data.share, created.share);
    // Only the owner's token stops it, for everyone.
    const stranger = { request: 'close', share: created.share, owner_token: '0'.repeat(32) };
    assert.equal((await receiver.request(stranger)).error_code, 452);
    assert.equal((await owner.request({ request: 'close', share: created.share, owner_token: created.owner_token })).swarmdrop, 'closed');
    const closed = await receiver.pluginEvent('share_closed');
    assert.equal(closed.plugindata.data.reason, 'stopped');
    assert.equal((await owner.request({ request: 'join', share: created.share })).error_code, 445);
    // A closed (or, after a restart, forgotten) id comes back only with the token it derives from.
    assert.equal((await receiver.request({ request: 'join', share: created.share, owner_token: '1'.repeat(32) })).error_code, 452);
    const restored = await owner.request({ request: 'join', share: created.share, owner_token: created.owner_token });
    assert.deepEqual([restored.role, restored.restored], ['owner', true]);
  } finally {
    owner.close();
    receiver.close();
  }
});

test('an owner whose connection drops takes the share back with its token, and its id with its secret; a stranger cannot', async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  try {
    const created = await owner.request({ request: 'create' });
    await receiver.request({ request: 'join', share: created.share });
    owner.close(); // the WebSocket goes: Janus destroys the session and its handle
    const left = await receiver.pluginEvent('peer_left');
    assert.equal(left.plugindata.data.peer, created.peer);
    // A stranger who knows the share id, while the owner is away: an id of its own, never the
    // owner's, and no owner's seat.
    const stranger = await janusSession(server.wsUrl);
    const squat = await stranger.request({ request: 'join', share: created.share, peer_secret: 'f'.repeat(32) });
    assert.deepEqual([squat.role, squat.peer === created.peer], ['receiver', false]);
    const usurper = await janusSession(server.wsUrl);
    assert.equal((await usurper.request({ request: 'join', share: created.share, owner_token: 'f'.repeat(32) })).error_code, 452);
    usurper.close();
    stranger.close();
    const back = await janusSession(server.wsUrl);
    const rejoined = await back.request({
      request: 'join', share: created.share, owner_token: created.owner_token, peer_secret: created.peer_secret,
    });
    assert.deepEqual([rejoined.role, rejoined.peer], ['owner', created.peer]);
    await receiver.pluginEvent('peer_joined', { filter: (data) => data.role === 'owner' });
    back.close();
  } finally {
    receiver.close();
  }
});

test('malformed requests get their error codes and leave the server serving', async () => {
  const victim = await janusSession(server.wsUrl);
  const attacker = await janusSession(server.wsUrl);
  try {
    const share = (await victim.request({ request: 'create' })).share;
    const foreign = await attacker.request({ request: 'create' });
    const cases = [
      [{}, 441], [{ request: 5 }, 441], [{ request: 'drop_table' }, 441],
      [{ request: 'join' }, 442], [{ request: 'signal', share, to: 'abcdefabcdef' }, 442],
      [{ request: 'join', share: 1 }, 443], [{ request: 'join', share: 'ZZZZZZZZZZZZZZZZ' }, 443],
      [{ request: 'join', share: 'a'.repeat(100000) }, 443],
      [{ request: 'join', share, owner_token: 'x' }, 443],
      [{ request: 'join', share, peer_secret: 'x' }, 443], [{ request: 'join', share, peer: 'abcdefabcdef' }, 453],
      [{ request: 'close', share }, 442], [{ request: 'close', share: 'ffffffffffffffff', owner_token: '0'.repeat(32) }, 445],
      [{ request: 'signal', share, to: foreign.peer, payload: [] }, 443],
      [{ request: 'signal', share: foreign.share, to: foreign.peer, payload: { big: 'x'.repeat(20000) } }, 444],
      [{ request: 'join', share: 'ffffffffffffffff' }, 445],
      [{ request: 'signal', share: foreign.share, to: 'abcdefabcdef', payload: {} }, 446],
      [{ request: 'signal', share, to: foreign.peer, payload: {} }, 447],
      [{ request: 'list', share }, 447],
      [{ request: 'join', share: foreign.share }, 448],
      [{ request: 'join', share, owner_token: '0'.repeat(32) }, 452],
      [{ request: 'create', extra: true }, 453],
      [{ request: 'signal', share: foreign.share, to: foreign.peer, payload: {} }, 454],
    ];
    // Sent all at once, as a burst; every one answered with its code.
    const replies = await Promise.all(cases.map(([body]) => attacker.request(body)));
    replies.forEach((reply, i) => {
      assert.equal(reply.swarmdrop, 'error', `case ${i}: ${JSON.stringify(cases[i][0]).slice(0, 80)}`);
      assert.equal(reply.error_code, cases[i][1], `case ${i}: ${reply.error}`);
      assert.ok(reply.error.length > 0);
    });
    // Bodies that are not objects, and a message with no body, are refused by Janus itself.
    for (const body of [[], 'text', 42, null]) {
      const reply = await attacker.request(body);
      assert.equal(reply.janus, 'error', JSON.stringify(body));
    }

    // The victim's share is untouched and the server still answers.
    const listed = await victim.request({ request: 'list', share });
    assert.deepEqual(listed.peers, []);
    assert.ok(server.alive());
  } finally {
    victim.close();
    attacker.close();
  }
});

test('report is answered with its interval, refused with 467 when too soon, and a bad one is named while the server serves', async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  try {
    const created = await owner.request({ request: 'create' });
    const joined = await receiver.request({ request: 'join', share: created.share, address: '198.18.0.11' });
    const link = { peer: created.peer, rtt_ms: 12, down_kbps: 8000, up_kbps: 0 };
    const report = { request: 'report', share: created.share, complete: false, have: Buffer.alloc(32, 0x80).toString('base64'), links: [link] };
    assert.deepEqual(await receiver.request(report), { swarmdrop: 'reported', share: created.share, interval_ms: 5000 });
    const soon = await receiver.request({ ...report, complete: true });
    assert.deepEqual([soon.error_code, soon.error], [467, 'reports come at most every 5 s']);
    // The refused report stored nothing: the owner still sees an incomplete receiver.
    assert.deepEqual((await owner.request({ request: 'list', share: created.share })).peers,
      [{ peer: joined.peer, role: 'receiver', tier: 'other' }]);
    const bad = [
      [{ ...report, address: 'not an address' }, 443, /address/], [{ ...report, have: 'AAAA' }, 443, /have/],
      [{ ...report, links: [{ ...link, rtt_ms: -1 }] }, 443, /rtt_ms/], [{ ...report, links: Array(11).fill(link) }, 444, /links/],
      [{ ...report, links: [{ ...link, jitter: 1 }] }, 453, /jitter/], [{ request: 'report', share: created.share }, 442, /complete/],
    ];
    for (const [body, code, why] of bad) {
      const reply = await receiver.request(body);
      assert.equal(reply.error_code, code, reply.error);
      assert.match(reply.error, why);
    }
    assert.equal((await owner.request({ request: 'report', share: created.share, complete: true, links: [] })).swarmdrop, 'reported');
    assert.ok(server.alive());
  } finally {
    owner.close();
    receiver.close();
  }
});

test('limits come from the plugin .jcfg; bad values are logged and defaulted', async () => {
  const dir = tempDir();
  const jcfg = join(dir, 'janus.plugin.swarmdrop.jcfg');
  writeFileSync(jcfg, 'general: {\n  max_peers_per_share = 2\n  max_shares = "lots"\n  colour = 3\n  rank_peers = false\n'
    + '  location_database = "/nonexistent/location.db"\n}\n');
  const limited = await startServer({ pluginJcfg: jcfg });
  const sessions = [];
  try {
    for (let i = 0; i < 3; i++) sessions.push(await janusSession(limited.wsUrl));
    const { share } = await sessions[0].request({ request: 'create' });
    assert.equal((await sessions[1].request({ request: 'join', share })).swarmdrop, 'joined');
    assert.equal((await sessions[2].request({ request: 'join', share })).error_code, 449);
    const log = readFileSync(limited.janusLog, 'utf8');
    assert.match(log, /max_shares = "lots" is not a whole number from 1 to 1000000; keeping 8192/);
    assert.match(log, /unknown setting "colour" ignored/);
    assert.match(log, /max_peers_per_share=2 /);
    assert.match(log, /tracker: rank_peers=false /);
    assert.match(log, /cannot open the location database \/nonexistent\/location.db: No such file or directory: peers are ranked without/);
  } finally {
    sessions.forEach((s) => s.close());
    await limited.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
