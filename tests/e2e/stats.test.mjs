// The operator's view of a running server: the `stats` request through scripts/swarmdrop-stats
// (the admin key serve.sh made), against real Janus with the plugin: the shares and members that
// clients made, refusals counted by code, a wrong key refused (and counted), nothing for a
// client without the key; and Janus's Admin API showing each handle's members.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { janusSession, repoRoot, startServer } from './harness.mjs';

const run = promisify(execFile);
let server;

before(async () => {
  server = await startServer({ adminApi: true });
});
after(() => server?.stop());

// swarmdrop-stats as an operator runs it: {status, stdout, stderr}.
async function statsCommand(...args) {
  try {
    const { stdout, stderr } = await run(join(repoRoot, 'scripts/swarmdrop-stats'), ['--janus', server.wsUrl, ...args], { timeout: 30_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    return { status: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

test('stats lists the shares clients made, counts refusals by code, and needs the admin key', { timeout: 60_000 }, async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  const stranger = await janusSession(server.wsUrl);
  try {
    const created = await owner.request({ request: 'create' });
    const joined = await receiver.request({ request: 'join', share: created.share });
    assert.equal(joined.swarmdrop, 'joined');
    // Two refusals of one code, and one of another.
    for (let i = 0; i < 2; i++) assert.equal((await stranger.request({ request: 'join', share: 'f'.repeat(16) })).error_code, 445);
    assert.equal((await stranger.request({ request: 'leave', share: created.share })).error_code, 447);

    // A client without the key learns nothing, and its try is counted.
    const guessed = await stranger.request({ request: 'stats', admin_key: 'not the key at all' });
    assert.equal(guessed.error_code, 462);
    assert.equal(guessed.shares, undefined);
    const refused = await statsCommand('--key', 'not the key at all either');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /wrong admin_key \(462\)/);

    const { status, stdout, stderr } = await statsCommand('--key', server.adminKey, '--json');
    assert.equal(status, 0, stderr);
    const stats = JSON.parse(stdout);
    assert.equal(stats.swarmdrop, 'stats');
    assert.equal(stats.shares.count, 1);
    assert.equal(stats.shares.members, 2);
    assert.deepEqual(stats.shares.listed, [{
      share: created.share, members: 2, owner_present: true, published: false, complete: 0, relay_bytes: 0, relay_endpoints: 0,
    }]);
    // Four sessions of ours (three clients and the command) and the one that asked.
    assert.ok(stats.connections >= 4, `connections ${stats.connections}`);
    assert.ok(stats.handles >= 4, `handles ${stats.handles}`);
    assert.deepEqual(stats.errors, [
      { code: 445, name: 'no_such_share', count: 2 },
      { code: 447, name: 'not_joined', count: 1 },
      { code: 462, name: 'admin_key', count: 2 },
    ]);
    assert.equal(stats.quotas_hit.too_many_requests, 0);
    assert.equal(stats.relay.bytes, 0);
    assert.ok(stats.uptime_seconds >= 0);

    // For people: the totals, the refusals by name, the share's row.
    const shown = await statsCommand('--key', server.adminKey);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /shares 1, members 2,/);
    assert.match(shown.stdout, /refusals: 445 no_such_share 2, 447 not_joined 1, 462 admin_key 2/);
    assert.match(shown.stdout, new RegExp(`${created.share} +2 +0 +here +-`));
  } finally {
    for (const client of [owner, receiver, stranger]) client.close();
  }
});

test('swarmdrop-stats says how to use it, and refuses a bad --watch', async () => {
  const bad = await statsCommand('--key', 'k', '--watch', '0');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--watch takes a number of seconds/);
  const unknown = await statsCommand('--key', 'k', '--colour');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unexpected argument --colour/);
});

// Janus's Admin API: ask(body) resolves to the reply (its admin_secret added).
async function adminApi() {
  let ws;
  for (let tries = 0; ; tries++) {
    ws = new WebSocket(server.adminUrl, 'janus-admin-protocol');
    try {
      await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
      break;
    } catch (error) {
      if (tries > 20) throw error;
      await new Promise((res) => { setTimeout(res, 100); });
    }
  }
  const waiting = new Map();
  let counter = 0;
  ws.on('message', (raw) => {
    const reply = JSON.parse(raw.toString());
    waiting.get(reply.transaction)?.(reply);
  });
  return {
    ask: (body) => new Promise((res) => {
      const transaction = `a${++counter}`;
      waiting.set(transaction, res);
      ws.send(JSON.stringify({ ...body, transaction, admin_secret: server.adminKey }));
    }),
    close: () => ws.close(),
  };
}

// Every handle's plugin_specific (query_session), as the Admin API shows them.
async function pluginViews(admin) {
  const views = [];
  for (const session of (await admin.ask({ janus: 'list_sessions' })).sessions) {
    for (const handle of (await admin.ask({ janus: 'list_handles', session_id: session })).handles) {
      const info = await admin.ask({ janus: 'handle_info', session_id: session, handle_id: handle, plugin_only: true });
      if (info.info?.plugin_specific) views.push(info.info.plugin_specific);
    }
  }
  return views;
}

test('the Admin API shows each handle\'s members and relay counters, and a closed share goes from them', { timeout: 60_000 }, async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  const admin = await adminApi();
  try {
    const created = await owner.request({ request: 'create' });
    const joined = await receiver.request({ request: 'join', share: created.share });
    const members = (views) => views.map((view) => view.memberships).filter((list) => list.some((m) => m.share === created.share));
    const views = await pluginViews(admin);
    assert.deepEqual(members(views).sort((a, b) => a[0].role.localeCompare(b[0].role)), [
      [{ share: created.share, peer: created.peer, role: 'owner' }],
      [{ share: created.share, peer: joined.peer, role: 'receiver' }],
    ]);
    const row = views.find((view) => view.memberships.some((m) => m.peer === joined.peer));
    assert.equal(row.relay_in_flight, 0);
    assert.equal(row.relay_ready, false);
    assert.ok(row.plugin.shares >= 1);
    // The owner closes the share: the receiver learns it from the service, and so does its view.
    assert.equal((await owner.request({ request: 'close', share: created.share, owner_token: created.owner_token })).swarmdrop, 'closed');
    await receiver.pluginEvent('share_closed');
    assert.deepEqual(members(await pluginViews(admin)), []);
  } finally {
    admin.close();
    owner.close();
    receiver.close();
  }
});
