// The plugin's events reach an operator's sink through Janus's event handlers (issue 15;
// docs/protocol.md part 7): scripts/serve.sh with SWARMDROP_EVENTS_URL turns Janus's sample
// event handler on, which POSTs them here: shares and members (over the Janus API), the relay
// (one Chromium), quota refusals (a request flood). Without the setting nothing is rendered.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { closeAll, janusConnection, janusSession, relayMember, startServer } from './harness.mjs';

const PLUGIN = 'janus.plugin.swarmdrop';
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// An HTTP sink as an operator's collector would be: every swarmdrop event POSTed to it, in order
// (sampleevh posts one JSON object, or an array of them when it groups).
function startSink() {
  const events = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const posted = JSON.parse(body);
      for (const e of Array.isArray(posted) ? posted : [posted]) {
        // type 64: a plugin's event, {plugin, data} (Janus 1.1.2 src/events.c)
        if (e.type === 64 && e.event?.plugin === PLUGIN) events.push(e.event.data);
      }
      res.end();
    });
  });
  return new Promise((res) => {
    // Janus runs in this network namespace (scripts/in-netns.sh) or on this machine: loopback.
    http.listen(0, '127.0.0.1', () => res({
      url: `http://127.0.0.1:${http.address().port}/events`,
      events,
      // The first event matching filter, within ms.
      async find(filter, ms = 10_000) {
        for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
          const found = events.find(filter);
          if (found) return found;
        }
        assert.fail(`no such event in ${ms} ms: ${filter}\n${JSON.stringify(events)}`);
      },
      close: () => new Promise((done) => http.close(done)),
    }));
  });
}

let sink;
let server;
const browsers = [];
before(async () => {
  sink = await startSink();
  server = await startServer({ env: { SWARMDROP_EVENTS_URL: sink.url } });
});
after(async () => {
  await closeAll(browsers);
  await server?.stop();
  await sink?.close();
});

test('share and membership events reach the sink with their share and member ids', async () => {
  const owner = await janusSession(server.wsUrl);
  const receiver = await janusSession(server.wsUrl);
  const tab = await janusSession(server.wsUrl);
  try {
    const created = await owner.request({ request: 'create' });
    const { share } = created;
    const joined = await receiver.request({ request: 'join', share });
    const other = await tab.request({ request: 'join', share });
    assert.equal((await receiver.request({ request: 'leave', share })).swarmdrop, 'left');
    tab.close(); // a closed tab: its handle is gone before the plugin hears of it

    const about = (name, peer) => (e) => e.event === name && e.share === share && e.peer === peer;
    assert.deepEqual(await sink.find(about('share_created', created.peer)),
      { event: 'share_created', share, peer: created.peer, role: 'owner' });
    assert.deepEqual(await sink.find(about('member_joined', joined.peer)),
      { event: 'member_joined', share, peer: joined.peer, role: 'receiver' });
    assert.deepEqual(await sink.find(about('member_left', joined.peer)), { event: 'member_left', share, peer: joined.peer });
    assert.deepEqual(await sink.find(about('member_left', other.peer)), { event: 'member_left', share, peer: other.peer });

    await owner.request({ request: 'close', share, owner_token: created.owner_token });
    assert.deepEqual(await sink.find((e) => e.event === 'share_closed' && e.share === share),
      { event: 'share_closed', share, reason: 'stopped' });
    // Each fact once, whoever else heard of it.
    const mine = sink.events.filter((e) => e.share === share);
    assert.deepEqual(mine.map((e) => `${e.event} ${e.peer ?? ''}`), [
      `share_created ${created.peer}`, `member_joined ${joined.peer}`, `member_joined ${other.peer}`,
      `member_left ${joined.peer}`, `member_left ${other.peer}`, 'share_closed ',
    ]);
  } finally {
    owner.close();
    receiver.close();
  }
});

test('a member using the relay is told as relay_attached, and relay_detached when its browser goes', async () => {
  const member = await relayMember(server, browsers); // Chromium: creates a share, sets the relay up
  const about = (name) => (e) => e.event === name && e.share === member.share && e.peer === member.peer;
  assert.deepEqual(await sink.find(about('relay_attached')), { event: 'relay_attached', share: member.share, peer: member.peer });
  assert.equal(sink.events.filter(about('relay_detached')).length, 0);
  await closeAll(browsers.splice(0));
  assert.deepEqual(await sink.find(about('relay_detached')), { event: 'relay_detached', share: member.share, peer: member.peer });
  await sink.find(about('member_left'));
});

// 400 requests at once on one connection: about 100 pass (request_burst), the rest get 468.
// -> {refused, seconds}: how many got 468, and how long the flood took from first to last answer.
async function flood() {
  const conn = await janusConnection(server.wsUrl);
  const handle = await conn.attach(await conn.session());
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 400 }, () => handle.request({ request: 'list', share: '0000000000000000' })));
  const seconds = (performance.now() - started) / 1000;
  conn.close();
  return { refused: answers.filter((a) => a.error_code === 468).length, seconds };
}

test('a flood of quota refusals makes at most one quota_hit a second, the rest counted', async () => {
  const hits = () => sink.events.filter((e) => e.event === 'quota_hit' && e.code === 468);
  const before = hits().length;
  const { refused: first, seconds: firstSeconds } = await flood();
  // About a burst (100) is refused before the connection is ended; Janus's "detached" may
  // overtake a few of those answers, which then count as detached here.
  assert.ok(first >= 50, `${first} refused with 468`);
  await sleep(1500);
  const { refused: second, seconds: secondSeconds } = await flood();
  await sink.find(() => hits().length >= before + 2);
  await sleep(1500); // anything late
  const seen = hits().slice(before);
  console.log(`${first} + ${second} refusals (468) in ${firstSeconds.toFixed(2)} s and ${secondSeconds.toFixed(2)} s: ` +
    `${seen.length} quota_hit events ${JSON.stringify(seen.map((e) => e.suppressed ?? 0))}`);
  // At most one a second: a flood that lasts s seconds (under a second here, longer on a loaded
  // machine) makes at most ceil(s) + 1 of them.
  const most = Math.ceil(firstSeconds) + 1 + Math.ceil(secondSeconds) + 1;
  assert.ok(seen.length >= 2 && seen.length <= most, `${seen.length} events, at most ${most} expected`);
  assert.match(seen[0].what, /request/);
  assert.equal(seen[0].share, undefined); // the flood's requests were refused before being read
  // The refusals between two events are counted in the later one: all of the first flood but
  // the one it told of, when it took less than a second.
  const told = seen.reduce((n, e) => n + 1 + (e.suppressed ?? 0), 0);
  assert.ok(told <= first + second, `${told} told of ${first + second}`);
  assert.ok(told >= first + 1, `${told} told: the first flood's ${first} were not counted`);
});

test('without SWARMDROP_EVENTS_URL no event handler is configured', async () => {
  const plain = await startServer();
  try {
    assert.match(readFileSync(join(plain.stateDir, 'janus/janus.jcfg'), 'utf8'), /broadcast = false/);
    assert.ok(!existsSync(join(plain.stateDir, 'janus/janus.eventhandler.sampleevh.jcfg')));
  } finally {
    await plain.stop();
  }
  const rendered = readFileSync(join(server.stateDir, 'janus/janus.eventhandler.sampleevh.jcfg'), 'utf8');
  assert.match(rendered, new RegExp(`backend = "${sink.url}"`));
  assert.match(readFileSync(join(server.stateDir, 'janus/janus.jcfg'), 'utf8'), /broadcast = true/);
});
