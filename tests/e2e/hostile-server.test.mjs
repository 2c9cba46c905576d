// Hostile clients against the real Janus and plugin (issue 12, findings 2, 4 and 5): what one
// connection can hold and ask is bounded per connection (docs/protocol.md part 1, "Limits"), how
// fast one address opens connections by nginx, unanswered relay offers are closed, refused relay
// frames get a bounded number of replies. Short limits and timeouts come from the test's own
// .jcfg and scripts/serve.sh's settings.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  DETACHED_REASON, closeAll, janusConnection, relayMember, startServer, tempDir,
} from './harness.mjs';

const LIMITS = {
  max_shares: 16, // 8 handles x 8 creates would fill it without the per-connection limits
  max_peers_per_share: 4,
  max_handles_per_connection: 8,
  max_shares_per_connection: 4,
  max_members_per_connection: 16, // the relay-offer test's 8 members on one connection
  max_seats_per_connection: 2,
  requests_per_second: 20,
  request_burst: 100,
  relay_offer_timeout_seconds: 2,
  relay_refusals_per_second: 5,
};

let server;
const browsers = [];
before(async () => {
  server = await startServer({ pluginJcfg: jcfgOf(LIMITS) });
});
after(async () => {
  await closeAll(browsers);
  await server?.stop();
});

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

const connection = (wsUrl = server.wsUrl) => janusConnection(wsUrl);

// A jcfg of the plugin's limits in a folder of its own.
function jcfgOf(limits) {
  const jcfg = join(tempDir('swarmdrop-hostile-'), 'janus.plugin.swarmdrop.jcfg');
  writeFileSync(jcfg, `general: {\n${Object.entries(limits).map(([k, v]) => `  ${k} = ${v}\n`).join('')}}\n`);
  return jcfg;
}

// A client of its own connection with one handle.
async function client() {
  const conn = await connection();
  const handle = await conn.attach(await conn.session());
  return { conn, ...handle };
}

const janusPid = () => Number(readFileSync(join(server.stateDir, 'janus.pid'), 'utf8'));
const fds = () => readdirSync(`/proc/${janusPid()}/fd`).length;
const threads = () => readdirSync(`/proc/${janusPid()}/task`).length;

test('one WebSocket with many sessions and handles cannot fill the share table', async () => {
  const attacker = await connection();
  const handles = [];
  for (let s = 0; s < 4; s++) {
    const session = await attacker.session();
    for (let h = 0; h < 4; h++) {
      const handle = await attacker.attach(session);
      if (handle) handles.push(handle);
    }
  }
  assert.equal(handles.length, LIMITS.max_handles_per_connection, 'handles across its Janus sessions are counted together');
  const answers = [];
  for (const handle of handles) for (let i = 0; i < 8; i++) answers.push(await handle.request({ request: 'create' }));
  const created = answers.filter((a) => a.swarmdrop === 'created');
  assert.equal(created.length, LIMITS.max_shares_per_connection);
  assert.ok(answers.every((a) => a.swarmdrop === 'created' || a.error_code === 469), JSON.stringify(answers.slice(-1)));
  // Anyone else still creates: no 451.
  const other = await client();
  assert.equal((await other.request({ request: 'create' })).swarmdrop, 'created');
  attacker.close();
  other.conn.close();
});

test('one address reconnecting over and over cannot fill the share table: nginx bounds how fast it opens WebSockets', async () => {
  // What a connection created stops counting against it when it closes (the shares live on,
  // share_empty_grace_seconds), so the review's client filled 1024 shares in 2.1 s by reconnecting.
  // Here 40 connections x 4 shares would fill max_shares 64 three times over.
  const [perSecond, burst, maxShares] = [1, 5, 64];
  const limited = await startServer({
    pluginJcfg: jcfgOf({ max_shares: maxShares, max_shares_per_connection: 4 }),
    env: { SWARMDROP_WS_PER_SECOND: String(perSecond), SWARMDROP_WS_BURST: String(burst) },
  });
  try {
    const wsUrl = limited.wsUrl.replace('localhost', '127.0.0.1');
    const started = Date.now();
    let opened = 0, refused = 0, created = 0;
    for (let i = 0; i < 40; i++) {
      let attacker;
      try {
        attacker = await janusConnection(wsUrl, { localAddress: '127.0.0.2' });
      } catch (err) {
        assert.match(err.message, /429/);
        refused++;
        continue;
      }
      opened++;
      const handle = await attacker.attach(await attacker.session());
      for (let s = 0; s < 4; s++) {
        const answer = await handle.request({ request: 'create' });
        assert.equal(answer.swarmdrop, 'created', JSON.stringify(answer));
        created++;
      }
      attacker.close();
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`40 reconnections from one address in ${seconds.toFixed(1)} s: ${opened} opened, ${refused} got 429, ${created} shares created`);
    assert.ok(opened <= burst + 1 + Math.ceil(seconds * perSecond), `${opened} opened in ${seconds} s`);
    assert.equal(opened + refused, 40);
    assert.ok(created < maxShares);
    // Another address still connects and creates: no 451.
    const other = await janusConnection(wsUrl);
    const handle = await other.attach(await other.session());
    assert.equal((await handle.request({ request: 'create' })).swarmdrop, 'created');
    other.close();
  } finally {
    await limited.stop();
  }
});

test("a session claimed by another WebSocket: its later handles count against the claimer", async () => {
  const [creator, claimer] = [await connection(), await connection()];
  const session = await creator.session();
  assert.equal((await claimer.send({ janus: 'claim', session_id: session })).janus, 'success');
  // Attached through the creator's WebSocket, but on the claimed session: the claimer pays.
  const handles = [];
  for (let i = 0; i <= LIMITS.max_handles_per_connection; i++) handles.push(await creator.attach(session));
  assert.equal(handles.filter(Boolean).length, LIMITS.max_handles_per_connection);
  assert.equal(await claimer.attach(await claimer.session()), null, "the claimer's own sessions get no more");
  assert.notEqual(await creator.attach(await creator.session()), null, "the creator's new session still does");
  creator.close();
  claimer.close();
});

test("one connection's handles cannot take a share's seats", async () => {
  const owner = await client();
  const { share } = await owner.request({ request: 'create' });
  const attacker = await connection();
  const session = await attacker.session();
  const joins = [];
  for (let i = 0; i < LIMITS.max_handles_per_connection; i++) {
    const handle = await attacker.attach(session);
    joins.push(await handle.request({ request: 'join', share }));
  }
  assert.equal(joins.filter((j) => j.swarmdrop === 'joined').length, LIMITS.max_seats_per_connection);
  assert.ok(joins.every((j) => j.swarmdrop === 'joined' || j.error_code === 469));
  const receiver = await client();
  const joined = await receiver.request({ request: 'join', share });
  assert.equal(joined.swarmdrop, 'joined', JSON.stringify(joined));
  for (const c of [owner.conn, attacker, receiver.conn]) c.close();
});

test('a request flood gets 468, a connection far over its budget is ended, the server stays up', async () => {
  const flooder = await client();
  const threadsBefore = threads();
  const answers = await Promise.all(Array.from({ length: 400 }, () => flooder.request({ request: 'list', share: '0000000000000000' })));
  const tooMany = answers.filter((a) => a.error_code === 468).length;
  const threadsAfter = threads();
  console.log(`400 pipelined requests: ${tooMany} refused with 468; Janus threads ${threadsBefore} -> ${threadsAfter}`);
  // Janus's task pool is bounded (task_pool_size in conf/janus.jcfg.in): no thread per request.
  assert.ok(threadsAfter <= threadsBefore + 20, `${threadsBefore} -> ${threadsAfter} threads`);
  // The burst is served: which requests of it, Janus's task pool decides (it calls the plugin
  // from up to 16 threads, not always in the order they were sent). A request that finds its
  // handle already ended gets 447 too (not joined), so up to the pool's 16 more.
  // Allowed requests the worker had not reached when the handle ended go with it (the client
  // hears 'detached'): served or dropped so, the burst was let through, and no more than it.
  const served = answers.filter((a) => a.error_code === 447 || a.error_code === 445).length;
  const dropped = answers.filter((a) => a.error?.reason === DETACHED_REASON).length;
  assert.ok(served + dropped >= LIMITS.request_burst && served <= LIMITS.request_burst + 16, `${served} served, ${dropped} dropped with the handle`);
  // Beyond it: 468, until a whole burst of debt ends the handle; what comes after is refused by
  // Janus (no such handle) or, while the ending is queued, with 468.
  assert.ok(tooMany >= LIMITS.request_burst, `${tooMany} of 400 refused with 468`);
  const rest = answers.filter((a) => a.error_code !== 447 && a.error_code !== 445);
  assert.ok(rest.every((a) => a.error_code === 468 || a.janus === 'error'), JSON.stringify(rest.find((a) => a.error_code !== 468)));
  // A whole burst beyond the budget: Janus detaches the connection's handles.
  for (let i = 0; i < 50 && !flooder.conn.events.some((e) => e.janus === 'detached'); i++) await sleep(100);
  assert.ok(flooder.conn.events.some((e) => e.janus === 'detached' && e.sender === flooder.id), 'its handle was ended');
  // Ended once (each ending takes the plugin's lock and a Janus timer a handle), and the
  // connection was found the Janus 1.1.2 way (no per-handle fallback).
  const log = readFileSync(server.janusLog, 'utf8');
  assert.equal(log.match(/far over its request budget/g)?.length, 1);
  assert.doesNotMatch(log, /does not look like 1\.1\.2 inside/);
  // Its debt outlives the handle: no new one with a fresh budget until it paused enough.
  assert.equal(await flooder.conn.attach(flooder.session), null, 'no new handle at once');
  await sleep((LIMITS.request_burst / LIMITS.requests_per_second) * 1000 + 1500);
  assert.notEqual(await flooder.conn.attach(flooder.session), null, 'a new handle after the pause');
  assert.ok(server.alive());
  const other = await client();
  assert.equal((await other.request({ request: 'create' })).swarmdrop, 'created');
  flooder.conn.close();
  other.conn.close();
});

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${janusPid()}/status`, 'utf8'))[1]);

test('a client that stops reading while it pipelines large answers cannot grow Janus beyond its budget', async () => {
  // Two seats of one share on one connection: one handle signals the other 16 KB payloads, each
  // an event Janus must queue for this WebSocket, which reads nothing any more. Without the
  // request budget 2000 of them queued 32 MB in Janus (the review's 53 MiB with list answers).
  const owner = await client();
  const { share } = await owner.request({ request: 'create' });
  const reader = await connection();
  const session = await reader.session();
  const [from, to] = [await reader.attach(session), await reader.attach(session)];
  await from.request({ request: 'join', share });
  const target = await to.request({ request: 'join', share });
  const payload = { blob: 'x'.repeat(16000) };
  const before = rssKiB();
  reader.pauseReading();
  for (let i = 0; i < 2000; i++) {
    reader.sendOnly({ janus: 'message', session_id: session, handle_id: from.id,
      body: { request: 'signal', share, to: target.peer, payload } });
  }
  await sleep(4000);
  const grown = rssKiB() - before;
  console.log(`2000 pipelined 16 KB signals to a connection that reads nothing: Janus grew ${(grown / 1024).toFixed(1)} MiB`);
  // The budget lets through a burst (100) and 20 a second: about 2 MB of events, plus 468s.
  assert.ok(grown < 12 * 1024, `Janus grew ${grown} KiB`);
  reader.close();
  assert.ok(server.alive());
  const other = await client();
  assert.equal((await other.request({ request: 'create' })).swarmdrop, 'created');
  for (const c of [owner.conn, other.conn]) c.close();
});

test('unanswered relay offers are closed after relay_offer_timeout_seconds', async () => {
  await sleep(3000); // the threads of earlier tests' handles wind down
  const before = { fds: fds(), threads: threads() };
  const attacker = await connection();
  const session = await attacker.session();
  const handles = [];
  for (let i = 0; i < LIMITS.max_handles_per_connection; i++) handles.push(await attacker.attach(session));
  // Only a member gets an offer.
  const stranger = await handles[0].request({ request: 'relay', share: '0000000000000000' });
  assert.equal(stranger.error_code, 445);
  assert.equal(stranger.jsep, undefined);
  // Four handles create a share each, four join them (two seats a share): eight members.
  const shares = [];
  for (const handle of handles.slice(0, 4)) shares.push((await handle.request({ request: 'create' })).share);
  for (const [i, handle] of handles.slice(4).entries()) {
    assert.equal((await handle.request({ request: 'join', share: shares[i] })).swarmdrop, 'joined');
  }
  await sleep(500);
  const members = { fds: fds(), threads: threads() };
  // Each asks for the relay: an offer (a UDP socket, eventfds), never answered.
  let offers = 0;
  for (const [i, handle] of handles.entries()) {
    const answer = await handle.request({ request: 'relay', share: shares[i % 4] });
    if (answer.jsep?.type === 'offer') offers++;
  }
  await sleep(500);
  const offered = { fds: fds(), threads: threads() };
  await sleep((LIMITS.relay_offer_timeout_seconds + 3) * 1000);
  const expired = { fds: fds(), threads: threads() };
  // Its members were dropped from the relay: asking again makes a new offer.
  assert.equal((await handles[0].request({ request: 'relay', share: shares[0] })).jsep?.type, 'offer');
  attacker.close();
  await sleep(3000);
  const gone = { fds: fds(), threads: threads() };
  const figures = JSON.stringify({ offers, before, members, offered, expired, gone });
  console.log(`janus fds/threads: ${figures}`);
  assert.equal(offers, handles.length, figures);
  assert.ok(offered.fds >= members.fds + offers, `each offer holds descriptors: ${figures}`);
  // The handles (and their threads) live on; the offers' sockets and eventfds do not.
  assert.ok(expired.fds <= members.fds + 2, `offers closed: ${figures}`);
  assert.ok(gone.fds <= before.fds + 2 && gone.threads <= before.threads + 2, `back to the baseline: ${figures}`);
  assert.ok(server.alive());
});

test('a flood of 1-byte refused relay frames gets a bounded number of replies', async () => {
  const member = await relayMember(server, browsers);
  const seen = await member.page.evaluate(async () => {
    const { dc, texts } = window.relay;
    const since = texts.length;
    const started = Date.now();
    for (let i = 0; i < 2000; i++) dc.send(new Uint8Array([7]));
    await new Promise((res) => setTimeout(res, 3000));
    const refused = texts.slice(since).filter((t) => t.t === 'refused');
    return { refused: refused.length, codes: [...new Set(refused.map((t) => t.error_code))], seconds: (Date.now() - started) / 1000 };
  });
  console.log(`refused replies to 2000 one-byte frames: ${JSON.stringify(seen)}`);
  assert.deepEqual(seen.codes, [455]);
  assert.ok(seen.refused >= 1);
  assert.ok(seen.refused <= LIMITS.relay_refusals_per_second * (Math.ceil(seen.seconds) + 1), JSON.stringify(seen));
});

test('unpublish answers a wrong admin key the same for a share that exists and one that does not', async () => {
  const media = await startServer({ media: tempDir('swarmdrop-media-') });
  try {
    const conn = await connection(media.wsUrl);
    const owner = await conn.attach(await conn.session());
    const { share } = await owner.request({ request: 'create' });
    const wrong = 'not the admin key, but long enough';
    const existing = await owner.request({ request: 'unpublish', admin_key: wrong, share });
    const missing = await owner.request({ request: 'unpublish', admin_key: wrong, share: '0000000000000000' });
    assert.equal(existing.error_code, 462);
    assert.deepEqual(missing, existing);
    // With the key, a share the server does not publish is named as such.
    const notPublished = await owner.request({ request: 'unpublish', admin_key: media.adminKey, share });
    assert.equal(notPublished.error_code, 465);
    conn.close();
  } finally {
    await media.stop();
  }
});

test('after a restart, a stranger racing the owner cannot restore its share; the owner still can', async () => {
  const owner = await client();
  const created = await owner.request({ request: 'create' });
  owner.conn.close();
  await server.restart();
  // The stranger knows the share id (from the link) and comes first, many times.
  const stranger = await client();
  for (let i = 0; i < 20; i++) {
    const token = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString('hex');
    assert.equal((await stranger.request({ request: 'join', share: created.share, owner_token: token })).error_code, 452);
  }
  assert.equal((await stranger.request({ request: 'join', share: created.share })).error_code, 445, 'not there until restored');
  // The owner comes back with its token and its member secret: the same share, its own seat and id.
  const back = await client();
  const restored = await back.request({ request: 'join', share: created.share, owner_token: created.owner_token,
    peer_secret: created.peer_secret });
  assert.deepEqual([restored.swarmdrop, restored.role, restored.restored, restored.peer], ['joined', 'owner', true, created.peer]);
  // Now the stranger may join, as a receiver and under an id of its own.
  const joined = await stranger.request({ request: 'join', share: created.share });
  assert.deepEqual([joined.role, joined.peer === created.peer], ['receiver', false]);
  for (const c of [stranger.conn, back.conn]) c.close();
});
