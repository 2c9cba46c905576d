#!/usr/bin/env node
// Browser-to-browser throughput through swarmdrop, against two baselines measured in the same run
// with the client's message size (CHUNK_SIZE_CAP, capped by the SCTP transport's maxMessageSize)
// and watermarks (BUFFERED_HIGH/LOW_WATERMARK): a raw RTCDataChannel blast between the same two
// Chromium processes (signalled by this script, no server), and two RTCPeerConnections inside one
// page. Prints MB/s of each, swarmdrop / two-process, and each browser's CPU seconds per GB (all
// its processes, /proc) for swarmdrop and the raw blast.
//
// The machine's cores are shared by both browsers: where they are all busy, the rate follows
// the CPU each GB costs, so the run also prints how many cores were busy and the ratio that the
// CPU per GB alone predicts. --mbit N shapes the namespace's loopback, which carries the
// browsers' traffic, to N Mbit/s with tbf (root, in scripts/in-netns.sh's namespace: both
// directions together, the signalling too): then the channel, not the CPU, is the limit.
//
// It also prints the namespace's UDP datagrams per MB and drops (/proc/net/snmp) for both.
//
// --profile: afterwards, one more swarmdrop transfer of the same size (another file) with V8's
// sampling profiler on both pages' main threads and both browsers' threads' CPU read from /proc;
// prints per page the top 15 functions by self time (names and files from source maps of the
// same build), the threads' CPU per GB, the piece crypto's cost alone (AES-GCM + SHA-256 in a
// page) against the browser's CPU, and how full the sender's channel buffer was (10 ms samples).
// The profiled transfer is slower than the measured one.
//
//   scripts/in-netns.sh node bench/transfer.mjs [MiB] [--mbit N] [--profile] [--json PATH]   (default 256; after scripts/test.sh)
//
// --json PATH writes these results (bench/lib/result.mjs):
//   mib                  the file's size
//   mbit                 the loopback's shaping, null unshaped
//   swarmdropMBps        swarmdrop, link opened to file saved
//   piecesMBps           swarmdrop while pieces flowed (first byte to last)
//   rawMBps, inPageMBps  the raw blast between the two processes; two connections in one page
//   ratio, piecesRatio   swarmdrop / raw; pieces flowing / raw
//   cpuPerGB             browser CPU seconds per GB: {sender, receiver} swarmdrop, {rawSender, rawReceiver}
//   coresBusy            cores busy (both browsers): {swarmdrop, raw}
//   predictedRatio       the ratio the CPU per GB predicts where all cores are busy
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { BUFFERED_HIGH_WATERMARK, BUFFERED_LOW_WATERMARK, CHUNK_SIZE_CAP } from '../web/src/engine/config.js';
import {
  launchBrowser, processTree, randomFile, receiveFile, repoRoot, sha256File, shareFile, startServer, subDir, tempDir,
} from '../tests/e2e/harness.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const profiling = args.includes('--profile');
const mbit = args.includes('--mbit') ? Number(args[args.indexOf('--mbit') + 1]) : null;
const mib = Number(args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--mbit') ?? 256);
if (mbit !== null && !(mbit > 0)) throw new Error('--mbit takes a rate in Mbit/s, e.g. --mbit 80');
const size = mib << 20;
const MB = 1e6;
const GB = 1e9;
const settings = { total: size, chunk: CHUNK_SIZE_CAP, high: BUFFERED_HIGH_WATERMARK, low: BUFFERED_LOW_WATERMARK };
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString());

// ---------------------------------------------------------------------------------------------
// CPU of a browser from /proc

// Every thread of a browser's processes: `${pid}/${tid}` -> {thread: 'process type/thread name',
// seconds (user + system)}, and a '/reaped' row per process for its children that ended (cutime
// + cstime), so a helper process that exits within a measurement still counts.
function threadTimes(rootPid) {
  const times = new Map();
  const ticks = (stat, first) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[first - 3]) + Number(fields[first - 2])) / clockTicks; // fields 14, 15 or 16, 17 of proc(5)
  };
  for (const pid of processTree(rootPid)) {
    try {
      const type = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      times.set(`${pid}/reaped`, { thread: `${type}/(reaped children)`, seconds: ticks(readFileSync(`/proc/${pid}/stat`, 'utf8'), 16) });
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/[0-9]+$/, '*');
        times.set(`${pid}/${tid}`, { thread: `${type}/${name}`, seconds: ticks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'), 14) });
      }
    } catch {
      // the process or thread ended while we looked
    }
  }
  return times;
}

// CPU seconds a browser's threads spent between `before` and `after` (threadTimes), summed by
// thread kind, the busiest first. A process that ended meanwhile counts as its parent's reaped
// children less what it had spent before: both go to one row, '(ended processes)'.
function cpuBetween(before, after) {
  const byThread = new Map();
  const add = (thread, seconds) => byThread.set(thread, (byThread.get(thread) ?? 0) + seconds);
  for (const [key, { thread, seconds }] of after) {
    add(key.endsWith('/reaped') ? '(ended processes)' : thread, seconds - (before.get(key)?.seconds ?? 0));
  }
  for (const [key, { seconds }] of before) if (!after.has(key)) add('(ended processes)', -seconds);
  const threads = [...byThread].sort((a, b) => b[1] - a[1]);
  return { total: threads.reduce((sum, [, seconds]) => sum + seconds, 0), threads };
}

// 'thread a / b' for the threads that spent over 2 % of either browser's CPU, in s/GB.
function threadsSideBySide(a, b) {
  const perGb = (seconds) => ((seconds * GB) / size).toFixed(1);
  const of = (cpu) => new Map(cpu.threads);
  const [ofA, ofB] = [of(a), of(b)];
  const names = new Set([...a.threads, ...b.threads].filter(([name]) => (ofA.get(name) ?? 0) > a.total / 50 || (ofB.get(name) ?? 0) > b.total / 50).map(([name]) => name));
  return [...names].map((name) => `${name} ${perGb(ofA.get(name) ?? 0)} / ${perGb(ofB.get(name) ?? 0)}`).join(', ');
}

// The namespace's UDP counters (/proc/net/snmp): datagrams in and out, and those dropped because
// a socket's receive buffer was full.
function udpCounters() {
  const [names, values] = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:')).map((line) => line.split(/\s+/).slice(1));
  const of = (name) => Number(values[names.indexOf(name)]);
  return { datagrams: of('InDatagrams') + of('OutDatagrams'), dropped: of('RcvbufErrors') };
}

// Runs `work` and returns [its result, each browser's cpuBetween] (and the UDP counters' change
// meanwhile, as the array's `udp`).
async function measureCpu(browsers, work) {
  const before = browsers.map((browser) => threadTimes(browser.pid));
  const udpBefore = udpCounters();
  const result = await work();
  const cpu = browsers.map((browser, i) => cpuBetween(before[i], threadTimes(browser.pid)));
  const udpAfter = udpCounters();
  cpu.udp = { datagrams: udpAfter.datagrams - udpBefore.datagrams, dropped: udpAfter.dropped - udpBefore.dropped };
  return [result, cpu];
}

// ---------------------------------------------------------------------------------------------
// The baselines, in pages of their own (about:blank: no app, no CSP)

// Sends `total` bytes on an open channel in `chunk`-byte messages (at most the transport's
// maxMessageSize) with the client's watermarks, as the client's link does; resolves to the time
// of the first send (ms since the epoch). Installed in the baseline pages as globalThis.benchBlast.
async function blast(pc, channel, { total, chunk, high, low }) {
  channel.bufferedAmountLowThreshold = low;
  const size = Math.min(chunk, pc.sctp.maxMessageSize);
  const payload = new Uint8Array(size);
  crypto.getRandomValues(payload.subarray(0, Math.min(size, 65536)));
  const start = performance.timeOrigin + performance.now();
  for (let sent = 0; sent < total; sent += size) {
    if (channel.bufferedAmount > high) await new Promise((resolve) => { channel.onbufferedamountlow = resolve; });
    channel.send(payload.subarray(0, Math.min(size, total - sent)));
  }
  return start;
}

// Counts what arrives on `channel`; resolves to the time (ms since the epoch) `total` bytes were in.
function counted(channel, total) {
  channel.binaryType = 'arraybuffer';
  let got = 0;
  return new Promise((resolve) => {
    channel.onmessage = ({ data }) => {
      got += data.byteLength;
      if (got >= total) resolve(performance.timeOrigin + performance.now());
    };
  });
}

async function installBaselines(page) {
  await page.goto('about:blank');
  await page.evaluate(`globalThis.benchBlast = ${blast}; globalThis.benchCounted = ${counted};`);
}

// In a page: two RTCPeerConnections, one channel, the blast; resolves to its seconds.
async function inPageCeiling(options) {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const channel = a.createDataChannel('bench', { ordered: true });
  const received = new Promise((resolve) => {
    b.ondatachannel = ({ channel: incoming }) => resolve(globalThis.benchCounted(incoming, options.total));
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((resolve) => { channel.onopen = resolve; });
  const start = await globalThis.benchBlast(a, channel, options);
  const end = await received;
  a.close();
  b.close();
  return (end - start) / 1000;
}

// In a page: one end of the two-process connection, whose descriptions this script carries (all
// candidates in them: it waits for gathering to end). 'offer' makes the channel and returns the
// offer; 'answer' takes it, counts what comes (window.benchRaw.done) and returns the answer;
// 'accept' takes the answer and resolves once the channel is open.
async function rawPeer({ step, description, total }) {
  const gathered = async (pc) => {
    while (pc.iceGatheringState !== 'complete') await new Promise((resolve) => { pc.onicegatheringstatechange = resolve; });
    return pc.localDescription.toJSON();
  };
  if (step === 'accept') {
    await window.benchRaw.pc.setRemoteDescription(description);
    await window.benchRaw.open;
    return null;
  }
  const pc = new RTCPeerConnection();
  const raw = { pc };
  window.benchRaw = raw;
  if (step === 'offer') {
    raw.channel = pc.createDataChannel('bench', { ordered: true });
    raw.open = new Promise((resolve) => { raw.channel.onopen = resolve; });
    await pc.setLocalDescription(await pc.createOffer());
  } else {
    raw.done = new Promise((resolve) => {
      pc.ondatachannel = ({ channel }) => resolve(globalThis.benchCounted(channel, total));
    });
    await pc.setRemoteDescription(description);
    await pc.setLocalDescription(await pc.createAnswer());
  }
  return gathered(pc);
}

// The raw blast from one browser's page to the other's; resolves to its seconds and each
// browser's CPU (measureCpu) while it ran, connecting excluded.
async function twoProcessBlast(from, to) {
  const offer = await from.page.evaluate(rawPeer, { step: 'offer' });
  const answer = await to.page.evaluate(rawPeer, { step: 'answer', description: offer, total: size });
  await from.page.evaluate(rawPeer, { step: 'accept', description: answer });
  const [[start, end], cpu] = await measureCpu([from, to], () => Promise.all([
    from.page.evaluate((options) => globalThis.benchBlast(window.benchRaw.pc, window.benchRaw.channel, options), settings),
    to.page.evaluate(() => window.benchRaw.done),
  ]));
  await Promise.all([from, to].map((browser) => browser.page.evaluate(() => window.benchRaw.pc.close())));
  return { seconds: (end - start) / 1000, cpu };
}

// ---------------------------------------------------------------------------------------------
// --profile: V8's samples of both pages, read against source maps of the same build

// V8's sampling profiler on a page's main thread, a sample a millisecond.
async function startProfiler(browser) {
  const session = await browser.context.newCDPSession(browser.page);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 1000 });
  await session.send('Profiler.start');
  return session;
}

// Stops it; resolves to the CPU profile.
async function stopProfiler(session) {
  const { profile } = await session.send('Profiler.stop');
  await session.detach();
  return profile;
}

// Source maps of web/dist's scripts: the same build again, into a scratch folder, with maps not
// referenced from the scripts; a map is used only for a script byte-identical to the one served.
function sourceMaps(dir) {
  const out = join(dir, 'maps');
  execFileSync('npx', ['vite', 'build', '--outDir', out, '--sourcemap', 'hidden', '--logLevel', 'silent'], { cwd: join(repoRoot, 'web') });
  const maps = new Map();
  for (const name of readdirSync(join(out, 'assets')).filter((file) => file.endsWith('.js'))) {
    const served = join(repoRoot, 'web/dist/assets', name);
    if (!existsSync(served) || !readFileSync(served).equals(readFileSync(join(out, 'assets', name)))) continue;
    maps.set(name, decodeSourceMap(JSON.parse(readFileSync(join(out, 'assets', `${name}.map`), 'utf8'))));
  }
  return maps;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// A source map's mappings: per generated line, segments [column, source, line, column, name or -1].
function decodeSourceMap(map) {
  const state = [0, 0, 0, 0, 0]; // column (per line), source, original line, original column, name
  const lines = map.mappings.split(';').map((line) => {
    state[0] = 0;
    return line.split(',').filter(Boolean).map((segment) => {
      const values = [];
      for (let i = 0, value = 0, shift = 0; i < segment.length; i++) {
        const digit = BASE64.indexOf(segment[i]);
        value += (digit & 31) << shift;
        shift += 5;
        if (!(digit & 32)) {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      values.forEach((value, i) => { state[i] += value; });
      return [state[0], state[1], state[2], state[3], values.length > 4 ? state[4] : -1];
    });
  });
  return { lines, sources: map.sources, names: map.names };
}

// 'file.js:function' for a V8 call frame: through the map of its script when there is one.
function frameName({ functionName, url, lineNumber, columnNumber }, maps) {
  const map = maps.get(basename(url ?? ''));
  const name = functionName || '(anonymous)';
  if (!map) return url ? `${basename(url)}:${name}` : name;
  let found = null;
  for (const segment of map.lines[lineNumber] ?? []) {
    if (segment[0] > columnNumber) break;
    found = segment;
  }
  if (!found) return `${basename(url)}:${name}`;
  const source = map.sources[found[1]].replace(/^.*?src\//, '');
  return `${source}:${found[4] >= 0 ? map.names[found[4]] : name}`;
}

// Self time (ms) by function of a CPU profile: Map name -> ms, a sample lasting until the next.
function selfTimes({ nodes, samples, timeDeltas }, maps) {
  const names = new Map(nodes.map((node) => [node.id, frameName(node.callFrame, maps)]));
  const times = new Map();
  for (let i = 0; i + 1 < samples.length; i++) {
    const name = names.get(samples[i]);
    times.set(name, (times.get(name) ?? 0) + timeDeltas[i + 1] / 1000);
  }
  return times;
}

// In the profiled pages: how full the app's data channels' buffers are, sampled every 10 ms
// (those that sent anything; window.benchBuffered: counts per bucket).
function watchBuffers({ low, high }) {
  const channels = new Set();
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function sendWatched(data) {
    channels.add(this);
    return send.call(this, data);
  };
  const counts = { empty: 0, underLow: 0, lowToHigh: 0, overHigh: 0 };
  window.benchBuffered = counts;
  setInterval(() => {
    for (const channel of channels) {
      if (channel.readyState !== 'open' || channel.label === 'bench') continue;
      const amount = channel.bufferedAmount;
      if (amount === 0) counts.empty += 1;
      else if (amount < low) counts.underLow += 1;
      else if (amount < high) counts.lowToHigh += 1;
      else counts.overHigh += 1;
    }
  }, 10);
}

// In a page: seconds per GB of the client's piece crypto alone, 1 MiB pieces one after another:
// the sender's AES-GCM encrypt + SHA-256, the receiver's SHA-256 + decrypt.
async function cryptoCost(total) {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const piece = new Uint8Array(1 << 20);
  crypto.getRandomValues(piece.subarray(0, 65536));
  const iv = new Uint8Array(12);
  const timed = async (step) => {
    const start = performance.now();
    for (let done = 0; done < total; done += piece.length) await step();
    return (performance.now() - start) / 1000 / (total / 1e9);
  };
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, piece);
  return {
    sender: await timed(async () => crypto.subtle.digest('SHA-256', await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, piece))),
    receiver: await timed(async () => { await crypto.subtle.digest('SHA-256', sealed); await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, sealed); }),
  };
}

function printProfile(side, times, cpu, buffered, cryptoPerGb) {
  console.log(`\n--- ${side} ---`);
  const perGb = (seconds) => ((seconds * GB) / size).toFixed(1);
  console.log(`browser CPU ${perGb(cpu.total)} s/GB; threads over 2 % (s/GB): ${cpu.threads.filter(([, s]) => s > cpu.total / 50).map(([name, s]) => `${name} ${perGb(s)}`).join(', ')}`);
  const total = [...times.values()].reduce((sum, ms) => sum + ms, 0);
  const busy = total - (times.get('(idle)') ?? 0);
  console.log(`page main thread: ${(total / 1000).toFixed(2)} s sampled, ${(busy / 1000).toFixed(2)} s not idle; top self time:`);
  for (const [name, ms] of [...times].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${(ms / 1000).toFixed(3).padStart(7)} s ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
  console.log(`crypto: piece crypto alone costs ${cryptoPerGb.toFixed(1)} s/GB (cryptoCost), ${((100 * cryptoPerGb) / ((cpu.total * GB) / size)).toFixed(0)} % of this browser's CPU per GB`);
  const samples = Object.values(buffered).reduce((sum, n) => sum + n, 0);
  if (samples > 0) {
    const share = (n) => `${((100 * n) / samples).toFixed(0)} %`;
    console.log(`its channel buffer (10 ms samples): empty ${share(buffered.empty)}, under low watermark ${share(buffered.underLow)}, low to high ${share(buffered.lowToHigh)}, over high ${share(buffered.overHigh)}`);
  }
}

// One more swarmdrop transfer (a new file: the receiver's store would find the first one's
// pieces), both pages profiled.
async function profileTransfer(server, sender, receiver, dir) {
  const file = await randomFile(dir, 'profiled.bin', size);
  const maps = sourceMaps(dir);
  await sender.context.addInitScript(watchBuffers, { low: settings.low, high: settings.high });
  const link = await shareFile(sender.page, server.url, file.path);
  await receiver.page.goto('about:blank');
  const sessions = [await startProfiler(sender), await startProfiler(receiver)];
  const started = Date.now();
  const [, cpu] = await measureCpu([sender, receiver], () => receiveFile(receiver.page, link, subDir(dir, 'profiled'), { timeout: 1_800_000 }));
  const seconds = (Date.now() - started) / 1000;
  const buffered = await sender.page.evaluate(() => window.benchBuffered);
  const profiles = await Promise.all(sessions.map(stopProfiler));
  const cryptoPerGb = await sender.page.evaluate(cryptoCost, 256 << 20);
  console.log(`\nprofiled swarmdrop transfer (slower): ${seconds.toFixed(2)} s, ${(size / MB / seconds).toFixed(1)} MB/s`);
  printProfile('sender', selfTimes(profiles[0], maps), cpu[0], buffered, cryptoPerGb.sender);
  printProfile('receiver', selfTimes(profiles[1], maps), cpu[1], {}, cryptoPerGb.receiver);
}

// While `work` runs, when the receiver's page got its first piece byte and when it had them all
// (its metrics' totals.received, polled every 100 ms; a piece's 16-byte tags make the count pass
// the file's size a little); resolves to [work's result, {first, last}] (ms since the epoch).
async function piecePhases(page, work) {
  const phases = { first: null, last: null };
  let working = true;
  const polling = (async () => {
    while (working && phases.last === null) {
      const received = await page.evaluate(() => window.swarmdropMetrics?.()?.totals.received ?? 0).catch(() => 0);
      if (received > 0) phases.first ??= Date.now();
      if (received >= size) phases.last = Date.now();
      await new Promise((resolve) => { setTimeout(resolve, 100); });
    }
  })();
  try {
    return [await work(), phases];
  } finally {
    working = false;
    await polling;
  }
}

// ---------------------------------------------------------------------------------------------

// tbf on the namespace's loopback (its MTU is 64 KiB: the bucket must hold a whole packet).
function shapeLoopback(rate) {
  const tc = (...words) => execFileSync('tc', ['qdisc', ...words, 'dev', 'lo', 'root', ...(rate ? ['tbf', 'rate', `${rate}mbit`, 'burst', '256kb', 'latency', '50ms'] : [])]);
  if (rate) tc('replace');
  else tc('del');
}

const dir = tempDir('swarmdrop-bench-');
if (mbit) shapeLoopback(mbit);
const server = await startServer();
const sender = await launchBrowser();
const receiver = await launchBrowser();
const perGb = (cpu) => `${((cpu.total * GB) / size).toFixed(1)}`;
try {
  console.log(`swarmdrop transfer benchmark: ${mib} MiB, two Chromium processes${mbit ? `, loopback shaped to ${mbit} Mbit/s` : ''}`);
  const file = await randomFile(dir, 'bench.bin', size);
  const link = await shareFile(sender.page, server.url, file.path);
  const started = Date.now();
  const [[{ path }, phases], swarmdropCpu] = await measureCpu([sender, receiver], () => piecePhases(receiver.page, () => receiveFile(receiver.page, link, subDir(dir, 'saved'), { timeout: 1_800_000 })));
  const seconds = (Date.now() - started) / 1000;
  const pieceSeconds = (phases.last - phases.first) / 1000;
  const intact = (await sha256File(path)) === file.sha256;
  rmSync(path);
  // The app's pages go, so that they cost nothing while the baselines run.
  for (const browser of [sender, receiver]) await installBaselines(browser.page);
  const raw = await twoProcessBlast(sender, receiver);
  const ceilingSeconds = await sender.page.evaluate(inPageCeiling, settings);

  const rate = (s) => size / MB / s;
  console.log(`swarmdrop, link opened to file saved: ${seconds.toFixed(2)} s, ${rate(seconds).toFixed(1)} MB/s (SHA-256 ${intact ? 'matches' : 'DIFFERS'})`);
  console.log(`  of which pieces flowing (first byte to last, 100 ms polls): ${pieceSeconds.toFixed(2)} s, ${rate(pieceSeconds).toFixed(1)} MB/s; before it (page, connecting) ${((phases.first - started) / 1000).toFixed(2)} s, after it (verify, save) ${(seconds - pieceSeconds - (phases.first - started) / 1000).toFixed(2)} s`);
  console.log(`raw channel, two Chromium processes: ${raw.seconds.toFixed(2)} s, ${rate(raw.seconds).toFixed(1)} MB/s`);
  console.log(`two RTCPeerConnections in one page:  ${ceilingSeconds.toFixed(2)} s, ${rate(ceilingSeconds).toFixed(1)} MB/s`);
  console.log(`ratio swarmdrop / two-process raw:   ${(raw.seconds / seconds).toFixed(2)}`);
  console.log(`ratio swarmdrop / in-page ceiling:   ${(ceilingSeconds / seconds).toFixed(2)}`);
  console.log(`ratio pieces flowing / two-process raw: ${(raw.seconds / pieceSeconds).toFixed(2)}`);
  console.log(`browser CPU s per GB, sender / receiver: swarmdrop ${perGb(swarmdropCpu[0])} / ${perGb(swarmdropCpu[1])}, raw ${perGb(raw.cpu[0])} / ${perGb(raw.cpu[1])}`);
  for (const [i, side] of ['sender', 'receiver'].entries()) console.log(`  ${side}'s threads, s/GB swarmdrop / raw: ${threadsSideBySide(swarmdropCpu[i], raw.cpu[i])}`);
  const udp = ({ udp: { datagrams, dropped } }) => `${Math.round(datagrams / (size / MB))} datagrams per MB, ${dropped} dropped`;
  console.log(`UDP in the namespace (both ways, Janus's too): swarmdrop ${udp(swarmdropCpu)}; raw ${udp(raw.cpu)}`);
  const both = (cpu) => cpu[0].total + cpu[1].total;
  const cores = availableParallelism();
  console.log(`cores busy (both browsers, of ${cores}): swarmdrop ${(both(swarmdropCpu) / seconds).toFixed(2)}, raw ${(both(raw.cpu) / raw.seconds).toFixed(2)}; ratio the CPU per GB predicts where all are busy: ${(both(raw.cpu) / both(swarmdropCpu)).toFixed(2)}`);
  const cpuPerGB = (cpu) => (cpu.total * GB) / size;
  writeResult(jsonPath, 'transfer', {
    mib,
    mbit,
    swarmdropMBps: rate(seconds),
    piecesMBps: rate(pieceSeconds),
    rawMBps: rate(raw.seconds),
    inPageMBps: rate(ceilingSeconds),
    ratio: raw.seconds / seconds,
    piecesRatio: raw.seconds / pieceSeconds,
    cpuPerGB: { sender: cpuPerGB(swarmdropCpu[0]), receiver: cpuPerGB(swarmdropCpu[1]), rawSender: cpuPerGB(raw.cpu[0]), rawReceiver: cpuPerGB(raw.cpu[1]) },
    coresBusy: { swarmdrop: both(swarmdropCpu) / seconds, raw: both(raw.cpu) / raw.seconds },
    predictedRatio: both(raw.cpu) / both(swarmdropCpu),
  });
  if (!intact) process.exitCode = 1;
  if (profiling) await profileTransfer(server, sender, receiver, dir);
} finally {
  await sender.close();
  await receiver.close();
  await server.stop();
  if (mbit) shapeLoopback(null);
  rmSync(dir, { recursive: true, force: true });
}
