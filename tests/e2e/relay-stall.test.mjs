// A relayed receiver whose browser stops acknowledging (issue 12, finding 5), with the real Janus
// and real Chromium pages in relay-only mode. Janus 1.1.2 queues SCTP messages for a peer without
// bound; the plugin bounds what it relays to each target by the relay window (relay_window_kib per
// source member) and its own texts by one more window (src/sd_relay.h). A sender shares a file
// with receivers A and B; once both receive, B's whole browser is stopped (SIGSTOP): it neither
// reads nor acknowledges, while its association with Janus stays up. The scenario runs once;
// each test checks one of its outcomes.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  closeAll, launchBrowser, processTree, randomFile, receiveFile, sha256File, shareFile, startServer, subDir, tempDir,
  waitForState, watchPeerConnections,
} from './harness.mjs';

const MiB = 1 << 20;
const SIZE = 48 * MiB;
// B stays stopped this long, and longer while A is not done, but never long enough for Janus's
// session_timeout (60 s without a keepalive; B's page sends one every 25 s) to end B's session,
// and with it B's relay endpoint and links.
const FREEZE_MS = 25_000;
const FREEZE_MAX_MS = 34_000;
// How long B has to finish once it runs again.
const RECOVER_MS = 120_000;
// The relay window of this run: 1 MiB, not the default 4, so that the bound below stays far from
// what B may ask for in all (32 MiB of requests) and from the file.
const WINDOW_KIB = 1024;
// What Janus may hold for B: a window from each member sending to it (the sender and A, which
// also serves pieces) and a window of the plugin's texts, 3 MiB, held twice at most (Janus's
// queue, usrsctp's send buffer), plus A's flows still moving: far under 16 MiB. Without the
// window, what B asked for would pile up for as long as it stays stopped.
const GROWTH_MAX = 16 * MiB;
// Once B's windows are full nothing more is queued for it: the second half of the stop adds less
// than one window.
const FLAT_MAX = 1 * MiB;

const sleep = (ms) => new Promise((res) => setTimeout(res, Math.max(0, ms)));
const kib = (bytes) => Math.round(bytes / 1024);

const vmRss = (pid) => Number(/^VmRSS:\s+([0-9]+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

// Sends signal to a browser's process, then to its descendants (a stopped browser process starts
// no new ones); returns the pids signalled.
function signalBrowser(browser, signal) {
  const pids = processTree(browser.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // it ended meanwhile
    }
  }
  return pids;
}

// Stops every process of browser's tree until all are: one in uninterruptible sleep stops only
// when it leaves it, and Chromium may start one meanwhile (a loaded machine showed both).
async function stopBrowser(browser) {
  for (const deadline = Date.now() + 5000; ;) {
    const pids = signalBrowser(browser, 'SIGSTOP');
    await sleep(100);
    const running = pids.filter((pid) => ![null, 'T', 't', 'Z'].includes(processState(pid)));
    if (running.length === 0) return pids;
    if (Date.now() > deadline) assert.deepEqual(running, [], `B's processes ${pids} all stopped`);
  }
}

// 'T' for a stopped process (/proc/<pid>/stat's state), null once it is gone.
function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return null;
  }
}

const relayOnlyBrowser = async () => watchPeerConnections(await launchBrowser(), { relayOnly: true });
const stateOf = (browser) => browser.page.evaluate(() => window.swarmdrop);
const phaseOf = (state, peer) => state.peers.find((p) => p.peer === peer)?.phase ?? null;

// The server and scratch folder, set up in the same hook as the scenario (Node 20 does not wait for
// one top-level hook before starting the next).
const fixture = { server: null, dir: null };
const browsers = [];
let run; // what the scenario saw, or {error}

// The scenario: {file, rssIdle, before: {a, b, rss, seconds}, stopped (pids), stoppedFor (seconds),
// series (one sample a second while B was stopped: {at, rss, a, sender, senderSeesB, aSeesB}),
// aDone (seconds after B stopped, or null), aSha, bDone (seconds after B ran again, or null), bSha,
// bConnections (its RTCPeerConnections' states, from when it ran again), states (at the end), rssEnd}.
async function scenario() {
  const janusPid = Number(readFileSync(join(fixture.server.stateDir, 'janus.pid'), 'utf8'));
  const sender = await relayOnlyBrowser();
  const a = await relayOnlyBrowser();
  const b = await relayOnlyBrowser();
  browsers.push(sender, a, b);
  // How B's connections (to the server's relay) fare: window.connectionStates.
  await b.context.addInitScript(() => {
    const Made = RTCPeerConnection;
    globalThis.connectionStates = [];
    let made = 0;
    globalThis.RTCPeerConnection = class extends Made {
      constructor(...args) {
        super(...args);
        const pc = made++;
        this.addEventListener('connectionstatechange', () => globalThis.connectionStates.push({ pc, state: this.connectionState, t: Date.now() }));
      }
    };
  });
  assert.ok(b.pid, 'the pid of B\'s browser is known');
  const file = await randomFile(fixture.dir, 'stall.bin', SIZE);
  const link = await shareFile(sender.page, fixture.server.url, file.path);
  const seen = { file, rssIdle: vmRss(janusPid), series: [], aDone: null, bDone: null };
  const started = Date.now();
  const saved = {};
  for (const [name, receiver] of [['a', a], ['b', b]]) {
    saved[name] = receiveFile(receiver.page, link, subDir(fixture.dir, name), { timeout: 400_000 });
    saved[name].catch(() => {}); // awaited below, or never once the browsers close
  }
  // Both receive pieces through the relay before B stops.
  for (const receiver of [a, b]) {
    await receiver.page.waitForURL(/\/s\//);
    await waitForState(receiver.page, (s, least) => s.bytes >= least && s.peers.some((p) => p.path === 'relay' && p.phase === 'open'), 2 * MiB);
  }
  const bState = await stateOf(b);
  seen.before = { a: (await stateOf(a)).bytes, b: bState.bytes, rss: vmRss(janusPid), seconds: (Date.now() - started) / 1000 };
  // B runs again (finally) before anything may ask its page.
  let stoppedAt;
  try {
    stoppedAt = Date.now();
    saved.a.then(() => { seen.aDone = (Date.now() - stoppedAt) / 1000; }, () => {});
    seen.stopped = await stopBrowser(b);
    for (let n = 1; ; n++) {
      await sleep(stoppedAt + n * 1000 - Date.now());
      const [s, got] = [await stateOf(sender), await stateOf(a)];
      seen.series.push({
        at: n, rss: vmRss(janusPid), a: got.bytes, sender: s.phase, senderSeesB: phaseOf(s, bState.peerId), aSeesB: phaseOf(got, bState.peerId),
      });
      if (n * 1000 >= FREEZE_MS && (seen.aDone !== null || n * 1000 >= FREEZE_MAX_MS)) break;
    }
  } finally {
    signalBrowser(b, 'SIGCONT');
  }
  const resumedAt = Date.now();
  seen.stoppedFor = (resumedAt - stoppedAt) / 1000;
  const bFailed = waitForState(b.page, (s) => s.phase === 'error', null, { timeout: RECOVER_MS }).then(() => null);
  const bSaved = await Promise.race([saved.b, bFailed]).catch(() => null);
  if (bSaved) {
    seen.bDone = (Date.now() - resumedAt) / 1000;
    seen.bSha = await sha256File(bSaved.path);
    // The sender hears of it with the next progress report.
    await waitForState(sender.page, (s) => s.receivers.length === 2 && s.receivers.every((r) => r.phase === 'done'), null, { timeout: 15_000 })
      .catch(() => {});
  }
  // A may finish only after B runs again (then aDone counts from B's stop all the same).
  const aSaved = await Promise.race([saved.a, sleep(1000).then(() => null)]).catch(() => null);
  if (aSaved) seen.aSha = await sha256File(aSaved.path);
  seen.bConnections = await b.page.evaluate((at) => window.connectionStates.map(({ pc, state, t }) => `pc ${pc} ${state} at ${((t - at) / 1000).toFixed(1)} s`), resumedAt);
  seen.states = { sender: await stateOf(sender), a: await stateOf(a), b: await stateOf(b) };
  seen.rssEnd = vmRss(janusPid);
  return seen;
}

before(async () => {
  try {
    fixture.dir = tempDir();
    const jcfg = join(fixture.dir, 'window.jcfg');
    writeFileSync(jcfg, `general: {\n  relay_window_kib = ${WINDOW_KIB}\n}\n`);
    fixture.server = await startServer({ pluginJcfg: jcfg });
    run = await scenario();
  } catch (error) {
    run = { error };
  }
  if (run.error) return;
  const lines = [
    `Janus RSS idle ${kib(run.rssIdle)} KiB; A and B receiving after ${run.before.seconds.toFixed(1)} s ` +
      `(A ${run.before.a}, B ${run.before.b} bytes); Janus RSS then ${kib(run.before.rss)} KiB; ${run.stopped.length} processes of B stopped`,
    'each second while B was stopped: RSS KiB, KiB since B stopped, A\'s bytes, sender\'s phase, B\'s link seen by the sender, by A',
    ...run.series.map((p) => `  ${p.at} s: ${kib(p.rss)} ${kib(p.rss - run.before.rss)} ${p.a} ${p.sender} ${p.senderSeesB} ${p.aSeesB}`),
    `B stopped for ${run.stoppedFor.toFixed(1)} s; A saved ${run.aDone === null ? 'not yet' : `${run.aDone.toFixed(1)} s after B stopped`}; ` +
      `B saved ${run.bDone === null ? `not (within ${RECOVER_MS / 1000} s or before an error)` : `${run.bDone.toFixed(1)} s after it ran again`}; ` +
      `Janus RSS at the end ${kib(run.rssEnd)} KiB`,
    `B at the end: phase ${run.states.b.phase} (${run.states.b.errorKind}: ${run.states.b.error}), bytes ${run.states.b.bytes}, reconnections ${run.states.b.reconnections}, ` +
      `links ${JSON.stringify(run.states.b.peers.map(({ role, phase, downloadedBytes }) => [role, phase, downloadedBytes]))}`,
    `B's connections (seconds from when it ran again): ${run.bConnections.join(', ')}`,
  ];
  console.log(lines.join('\n'));
}, { timeout: 480_000 });

after(async () => {
  for (const browser of browsers) signalBrowser(browser, 'SIGCONT'); // whatever went wrong
  await closeAll(browsers);
  await fixture.server?.stop();
  if (fixture.dir) rmSync(fixture.dir, { recursive: true, force: true });
});

const scenarioRan = () => {
  if (run.error) throw run.error;
};

test('Janus\'s memory stays bounded while a relayed receiver stops acknowledging, and flat once its windows are full', () => {
  scenarioRan();
  const peak = Math.max(...run.series.map((p) => p.rss));
  assert.ok(peak - run.before.rss < GROWTH_MAX, `Janus grew ${kib(peak - run.before.rss)} KiB while B was stopped`);
  // From the second half of the stop on, or from when A was done if later: A's own pieces
  // crossing Janus while it finishes are not B's, and swing its RSS by a window or two.
  const aDone = run.series.findIndex((p) => p.a === SIZE);
  const half = run.series.slice(Math.max(Math.floor(run.series.length / 2), aDone));
  const late = Math.max(...half.map((p) => p.rss)) - half[0].rss;
  assert.ok(late < FLAT_MAX, `Janus grew ${kib(late)} KiB in the second half of B's stop`);
});

test('the sender keeps sharing and A finishes, intact, while B is stopped', () => {
  scenarioRan();
  assert.deepEqual(run.series.filter((p) => p.sender === 'error'), []);
  assert.notEqual(run.states.sender.phase, 'error');
  const stalled = run.series.filter((p) => p.a === run.series.at(-1).a && p.a < SIZE).length;
  assert.ok(run.aDone !== null && run.aDone < run.stoppedFor,
    `A was held back by the stopped B: ${run.series.at(-1).a} of ${SIZE} bytes after ${run.series.length} s (no progress for ${stalled} s), ` +
    `the sender's link to B ${run.series.at(-1).senderSeesB}, A's ${run.series.at(-1).aSeesB}`);
  assert.equal(run.aSha, run.file.sha256);
});

test('B, running again, finishes with the right file', () => {
  scenarioRan();
  const { phase, error, peers } = run.states.b;
  assert.notEqual(phase, 'error', `B went to error once it ran again: ${error}`);
  assert.notEqual(run.bDone, null, `B did not finish within ${RECOVER_MS / 1000} s: ${JSON.stringify(peers)}`);
  assert.equal(run.bSha, run.file.sha256);
  const done = run.states.sender.receivers;
  assert.deepEqual(done.map((r) => r.phase), ['done', 'done']);
});
