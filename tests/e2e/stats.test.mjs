// The operator's view of a running server: the `stats` request through scripts/swarmdrop-stats
// (the admin key serve.sh made), against real Janus with the plugin: the shares and members that
// clients made, refusals counted by code, a wrong key refused (and counted), nothing for a
// client without the key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { janusSession, repoRoot, startServer } from './harness.mjs';

const run = promisify(execFile);
let server;

before(async () => {
  server = await startServer();
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
