#!/usr/bin/env node
// Churn soak (issue 12): thousands of short client lives against a real Janus with the plugin,
// then the question whether Janus and the plugin are back where they started. Not in CI's time
// budget; it measures, it does not tune.
//
// Each cycle is one client on a WebSocket of its own: create a Janus session, attach 2 or 3
// handles; the first creates a share and the second joins it (the third, on odd cycles, creates a
// second share: a connection holds at most 2 members of one share); the first owner, or every
// member, asks for the relay (the plugin answers with a JSEP offer); every fourth cycle the
// second handle leaves and joins again under the same member id three times, asking for the relay
// each time. Each offer is left unanswered, hung up (Janus "hangup"), or answered with an SDP
// that can never connect (no candidates, a made-up fingerprint), in turn. Then one of six endings
// (--endings): close (leave, close the shares with their tokens, detach, destroy), expire (the same
// but the shares are left to expire), destroy (the session only), ws-close (the WebSocket only),
// cut (the TCP connection, at a random step, that step's first request in flight), cut-attach
// (the TCP connection, right after sending three attach requests). About one client in 20 with
// unanswered offers stays until relay_offer_timeout_seconds has passed. Cycles start at most
// --rate a second (by default half of max_shares is the most left waiting to expire).
// No node WebRTC library is usable here (bench/node_modules/node-datachannel has no native
// binary), so no offer is completed: the relay with real channels is
// tests/e2e/relay-plugin.test.mjs's job.
//
// Figures, for the Janus process: RSS (/proc/PID/status VmRSS), open fds (/proc/PID/fd), threads
// (/proc/PID/task), Janus sessions and handles (Admin API list_sessions, list_handles), and the
// plugin's own counters (Admin API handle_info on an observer handle: query_session's "plugin"
// object: shares, members, relay_endpoints, relay_waiting, connections, handles; "n/a" when the
// plugin measured does not answer them). A leftover fd or thread is named by its kind (e.g.
// "anon_inode:[eventfd]", "hloop *": Janus's loop thread of one handle). Measured cold (Janus just started), warm (after a warm-up batch
// and the settle time), at the peak of the run (sampled), and after the run and the settle time
// (longer than the plugin's timeouts: an empty share lives share_empty_grace_seconds).
// Verdicts: sessions, handles and plugin counters exactly as cold; fds and threads exactly as
// warm (the first cycles open a few things for good: OpenSSL's and libnice's lazily made
// state, GLib's pool threads); RSS within --rss-tolerance-mib of warm (glibc keeps freed memory
// in its per-thread arenas; Janus runs a thread per handle, so which arenas hold what moves from
// run to run). Exit status 1 if a figure did not come back, or a cycle failed (a refusal it did
// not expect, or a request left without a reply: counted by kind among the replies printed).
//
// Janus runs from a temp dir with the repository's configs (conf/*.in rendered as
// scripts/serve.sh does), the Admin API on a free local port with a random admin_secret, and no
// nginx (the WebSocket API directly). The plugin .so is copied there, so a rebuild during the
// run does not change it.
//
//   node bench/churn.mjs [--cycles 3000] [--clients 12] [--rate R] [--warmup N] [--settle S]
//                        [--endings close,expire,destroy,ws-close,cut,cut-attach]
//                        [--jcfg conf/janus.plugin.swarmdrop.jcfg] [--plugin libjanus_swarmdrop.so]
//                        [--rss-tolerance-mib 5] [--keep]
// --keep keeps the temp dir (Janus's log and configs). About 4 minutes at --cycles 2000.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ws from the tests' dependencies (tests/package.json; the e2e tests need them anyway).
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WebSocket = createRequire(join(repoRoot, 'tests/package.json'))('ws');

const { values: options } = parseArgs({
  options: {
    cycles: { type: 'string', default: '3000' },
    clients: { type: 'string', default: '12' },
    warmup: { type: 'string' },
    settle: { type: 'string' },
    jcfg: { type: 'string', default: join(repoRoot, 'conf/janus.plugin.swarmdrop.jcfg') },
    plugin: { type: 'string' },
    rate: { type: 'string' },
    'rss-tolerance-mib': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    endings: { type: 'string', default: 'close,expire,destroy,ws-close,cut,cut-attach' },
  },
});
const OFFER_MODES = ['unanswered', 'hangup', 'dead answer'];
const ENDINGS = ['close', 'expire', 'destroy', 'ws-close', 'cut', 'cut-attach'];
const cycles = Number(options.cycles);
const clients = Number(options.clients);
const warmup = Number(options.warmup ?? Math.max(100, Math.round(cycles / 10)));
const rssToleranceMiB = Number(options['rss-tolerance-mib']);
const endings = options.endings.split(',');
const pluginJcfg = readFileSync(options.jcfg, 'utf8');
const jcfgNumber = (key, fallback) => Number(new RegExp(`^\\s*${key}\\s*=\\s*([0-9]+)`, 'm').exec(pluginJcfg)?.[1] ?? fallback);
const graceSeconds = jcfgNumber('share_empty_grace_seconds', 30);
// Longer than every timeout after which the plugin lets go of something by itself.
const settleSeconds = Number(options.settle ?? Math.max(graceSeconds, jcfgNumber('relay_offer_timeout_seconds', 10)) + 15);
// Cycles a second: most cycles leave their share to expire (all endings but close and cut-attach), so at
// most half of max_shares are held at once and the soak never meets 451 (server full).
const rate = Number(options.rate ?? Math.min(200, (jcfgNumber('max_shares', 1024) / 2) / ((graceSeconds + 1) * 0.8)));
if (![cycles, clients, warmup].every((n) => Number.isInteger(n) && n >= 1) || clients > 64 || !(rssToleranceMiB >= 0)
    || !(rate > 0) || !(settleSeconds >= 0) || !endings.every((e) => ENDINGS.includes(e))) {
  console.error('usage: node bench/churn.mjs [--cycles 3000] [--clients 12 (1-64)] [--warmup N] [--settle S] '
    + '[--rate R] [--endings close,expire,destroy,ws-close,cut,cut-attach] [--jcfg FILE] [--plugin FILE] '
    + '[--rss-tolerance-mib 5] [--keep]');
  process.exit(2);
}

const PLUGIN = 'janus.plugin.swarmdrop';
const COUNTERS = ['shares', 'members', 'relay_endpoints', 'relay_waiting', 'connections', 'handles'];
const REPLY_MS = 15_000;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- Janus, from a temp dir ---------------------------------------------------------------------

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// The plugin to measure: --plugin, or the build tree's, made first (make -s) when it is missing or
// older than its sources.
function ensureBuilt() {
  if (options.plugin) return options.plugin;
  const so = join(repoRoot, 'plugins/.libs/libjanus_swarmdrop.so');
  const sources = [
    ...readdirSync(join(repoRoot, 'plugins')).filter((f) => f.endsWith('.c')).map((f) => join(repoRoot, 'plugins', f)),
    ...readdirSync(join(repoRoot, 'src')).filter((f) => /^sd_.*\.[ch]$/.test(f)).map((f) => join(repoRoot, 'src', f)),
  ];
  if (!existsSync(so) || sources.some((f) => statSync(f).mtimeMs > statSync(so).mtimeMs)) {
    console.log('building the plugin (make -s)');
    try {
      execFileSync('make', ['-s'], { cwd: repoRoot, stdio: 'inherit' });
    } catch {
      throw new Error('make -s failed: the plugin would be older than its sources (give one with --plugin FILE)');
    }
  }
  return so;
}

function render(template, values) {
  return readFileSync(join(repoRoot, 'conf', template), 'utf8').replace(/@([A-Z_]+)@/g, (all, name) => values[name] ?? all);
}

// Replaces `pattern` in `text` once, or fails loudly (the template changed under us).
function edit(text, pattern, replacement, what) {
  if (!pattern.test(text)) throw new Error(`cannot ${what}: the config template changed`);
  return text.replace(pattern, replacement);
}

async function startJanus() {
  const so = ensureBuilt();
  const transport = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
    .map((lib) => join(lib, 'janus')).find((dir) => existsSync(join(dir, 'transports/libjanus_websockets.so')));
  if (!transport) throw new Error("Janus's websockets transport is not installed");
  const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-churn-'));
  const [configs, plugins] = [join(dir, 'janus'), join(dir, 'plugins')];
  mkdirSync(configs);
  mkdirSync(plugins);
  copyFileSync(so, join(plugins, 'libjanus_swarmdrop.so'));
  writeFileSync(join(configs, `${PLUGIN}.jcfg`), pluginJcfg);
  const [wsPort, adminPort] = [await freePort(), await freePort()];
  const adminSecret = randomBytes(24).toString('hex');
  const values = {
    STATE_DIR: dir, PLUGINS_DIR: plugins, JANUS_LIB_DIR: transport, DEBUG_LEVEL: '4', WS_PORT: String(wsPort),
  };
  const core = edit(render('janus.jcfg.in', values), /^general: \{$/m, `general: {\n\tadmin_secret = "${adminSecret}"`,
    'set admin_secret');
  writeFileSync(join(configs, 'janus.jcfg'), core, { mode: 0o600 });
  const ws = edit(render('janus.transport.websockets.jcfg.in', values), /^(\s*)admin_ws = false.*$/m,
    `$1admin_ws = true\n$1admin_ws_port = ${adminPort}\n$1admin_ws_ip = "127.0.0.1"`, 'enable the Admin API');
  writeFileSync(join(configs, 'janus.transport.websockets.jcfg'), ws);
  const log = join(dir, 'janus.log');
  const child = spawn('janus', ['-C', join(configs, 'janus.jcfg'), '-F', configs, '-P', plugins, '-o', '-L', log, '-N'],
    { stdio: 'ignore' });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let gone = null;
  exited.then((how) => { gone = how; });
  for (const start = Date.now(); ; await sleep(200)) {
    if (gone) throw new Error(`Janus exited while starting (${JSON.stringify(gone)}); log: ${log}`);
    if (Date.now() - start > 30_000) {
      child.kill('SIGTERM');
      throw new Error(`Janus did not open its ports in 30 s; log: ${log}`);
    }
    try {
      (await JanusLink.open(`ws://127.0.0.1:${wsPort}`, 'janus-protocol')).close();
      (await JanusLink.open(`ws://127.0.0.1:${adminPort}`, 'janus-admin-protocol')).close();
      break;
    } catch {
      // not listening yet
    }
  }
  return {
    pid: child.pid, dir, log, adminSecret,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    adminUrl: `ws://127.0.0.1:${adminPort}`,
    alive: () => gone === null,
    async stop() {
      if (gone === null) child.kill('SIGTERM');
      await exited;
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- The Janus WebSocket API ----------------------------------------------------------------------

// One WebSocket: request() resolves to the reply with the same transaction (not the "ack", except
// for keepalive, whose reply is the ack); every pending request fails when the socket goes.
class JanusLink {
  static open(url, protocol) {
    return new Promise((res, rej) => {
      const ws = new WebSocket(url, protocol);
      ws.once('open', () => res(new JanusLink(ws)));
      ws.once('error', rej);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.waiting = new Map();
    this.counter = 0;
    ws.on('error', () => {}); // a cut connection is what some cycles are for
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      const pending = msg.transaction && this.waiting.get(msg.transaction);
      if (!pending || (msg.janus === 'ack' && !pending.ack)) return; // events, acks
      this.waiting.delete(msg.transaction);
      clearTimeout(pending.timer);
      pending.res(msg);
    });
    ws.on('close', () => {
      for (const pending of this.waiting.values()) {
        clearTimeout(pending.timer);
        pending.rej(new Error('connection closed'));
      }
      this.waiting.clear();
    });
  }

  request(body) {
    return new Promise((res, rej) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        rej(new Error('connection closed'));
        return;
      }
      const transaction = `t${++this.counter}`;
      const timer = setTimeout(() => {
        this.waiting.delete(transaction);
        const what = body.body?.request ?? body.janus;
        rej(Object.assign(new Error(`no reply to ${what} in ${REPLY_MS} ms`), { timeout: what }));
      }, REPLY_MS);
      this.waiting.set(transaction, { res, rej, timer, ack: body.janus === 'keepalive' });
      this.ws.send(JSON.stringify({ ...body, transaction }));
    });
  }

  close() { this.ws.close(); }

  cut() { this.ws.terminate(); }
}

// What the soak saw, by kind of reply: "created", "relay+offer", "plugin error 448", ...
const tally = new Map();
const count = (what) => tally.set(what, (tally.get(what) ?? 0) + 1);

// A client's Janus session on its own WebSocket.
class Client {
  static async open(url) {
    const client = new Client(await JanusLink.open(url, 'janus-protocol'));
    client.session = (await client.janus({ janus: 'create' })).data.id;
    return client;
  }

  constructor(link) { this.link = link; }

  // A Janus-level request; a Janus error is counted and thrown.
  async janus(body) {
    const reply = await this.link.request(body.janus === 'create' ? body : { ...body, session_id: this.session });
    if (reply.janus === 'error') {
      count(`janus error ${reply.error?.code} (${body.janus})`);
      throw new Error(`janus ${body.janus}: ${reply.error?.code} ${reply.error?.reason}`);
    }
    count(`janus ${body.janus}`);
    return reply;
  }

  async attach() { return (await this.janus({ janus: 'attach', plugin: PLUGIN })).data.id; }

  // A plugin request: {data, jsep}; a refusal (swarmdrop "error") is counted, not thrown.
  async plugin(handle, body, jsep) {
    const reply = await this.janus({ janus: 'message', handle_id: handle, body, ...(jsep ? { jsep } : {}) });
    const data = reply.plugindata?.data ?? {};
    count(data.swarmdrop === 'error' ? `plugin error ${data.error_code} (${body.request})` : `${data.swarmdrop}${reply.jsep ? '+offer' : ''}`);
    return { data, jsep: reply.jsep };
  }
}

// An answer to the relay's offer that can never connect: no candidates, a made-up fingerprint.
function deadAnswer(offer) {
  const mid = /^a=mid:(\S+)/m.exec(offer.sdp)?.[1] ?? '0';
  const fingerprint = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const sdp = ['v=0', `o=- ${Date.now()} 1 IN IP4 0.0.0.0`, 's=-', 't=0 0', `a=group:BUNDLE ${mid}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${randomBytes(4).toString('hex')}`, `a=ice-pwd:${randomBytes(16).toString('hex')}`,
    `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:active', `a=mid:${mid}`, 'a=sctp-port:5000',
    'a=max-message-size:262144', 'a=end-of-candidates', ''].join('\r\n');
  return { type: 'answer', sdp };
}


// One client life (see the top of this file), its variant chosen by n (endings and offer handling
// in turn, so that every combination comes up): the steps below, then the ending (for some,
// after a while).
async function cycle(url, n) {
  const ending = endings[n % endings.length];
  const offerMode = OFFER_MODES[Math.floor(n / endings.length) % OFFER_MODES.length];
  const handlesWanted = 2 + (n % 2);
  const rejoin = n % 4 === 1;
  const client = await Client.open(url);
  if (ending === 'cut-attach') {
    for (let i = 0; i < 3; i++) client.attach().catch(() => {});
    await sleep(Math.random() * 2);
    client.link.cut();
    return;
  }
  // Handle 0 creates a share and handle 1 joins it; on odd cycles handle 2 creates a second one
  // (a connection holds at most max_seats_per_connection = 2 members of one share).
  const state = { handles: [], shares: [], members: [] }; // shares: {share, token}; members: {handle, share, secret}
  const create = async (handle) => {
    const { data } = await client.plugin(handle, { request: 'create' });
    if (data.swarmdrop !== 'created') throw new Error(`create refused: ${data.error_code} ${data.error}`);
    state.shares.push({ share: data.share, token: data.owner_token });
    state.members.push({ handle, share: data.share, secret: data.peer_secret });
  };
  const steps = [
    async () => { for (let i = 0; i < handlesWanted; i++) state.handles.push(await client.attach()); },
    async () => { await create(state.handles[0]); },
    async () => {
      const { share } = state.shares[0];
      const { data } = await client.plugin(state.handles[1], { request: 'join', share });
      if (data.swarmdrop === 'joined') state.members.push({ handle: state.handles[1], share, secret: data.peer_secret });
      if (state.handles[2]) await create(state.handles[2]);
    },
    async () => {
      // The first owner and, on odd cycles, every member ask for the relay; each offer as
      // offerMode says.
      for (const { handle, share } of state.members.slice(0, n % 2 ? undefined : 1)) {
        const { jsep } = await client.plugin(handle, { request: 'relay', share });
        if (!jsep) continue;
        if (offerMode === 'hangup') await client.janus({ janus: 'hangup', handle_id: handle });
        else if (offerMode === 'dead answer') await client.plugin(handle, { request: 'relay_answer' }, deadAnswer(jsep));
      }
    },
    async () => {
      // Leave and come back under the same member id, asking for the relay each time (issue 12,
      // finding 1: a waiting relay member must go with its membership).
      const member = state.members.find((m) => m.handle === state.handles[1]);
      if (!rejoin || !member) return;
      const { handle, share, secret } = member;
      for (let i = 0; i < 3; i++) {
        await client.plugin(handle, { request: 'leave', share });
        await client.plugin(handle, { request: 'join', share, peer_secret: secret });
        await client.plugin(handle, { request: 'relay', share });
      }
    },
  ];
  try {
    if (ending === 'cut') {
      // Cut the connection at a random step, with that step's first request in flight.
      const at = Math.floor(Math.random() * steps.length);
      for (const step of steps.slice(0, at)) await step();
      steps[at]().catch(() => {});
      await sleep(Math.random() * 5);
      client.link.cut();
      return;
    }
    for (const step of steps) await step();
  } catch (err) {
    client.link.cut();
    throw err;
  }
  const end = async () => {
    try {
      if (ending === 'close' || ending === 'expire') {
        for (const { handle, share } of state.members) await client.plugin(handle, { request: 'leave', share });
        if (ending === 'close') {
          for (const { share, token } of state.shares) {
            await client.plugin(state.handles[1], { request: 'close', share, owner_token: token });
          }
        }
        for (const handle of state.handles) await client.janus({ janus: 'detach', handle_id: handle });
      }
      if (ending !== 'ws-close') await client.janus({ janus: 'destroy' });
      client.link.close();
    } catch (err) {
      client.link.cut();
      throw err;
    }
  };
  // About one client in 20 (a seventh of those with unanswered offers, every ending but the cuts)
  // stays longer than the plugin gives an offer, and ends in the background (the soak waits for
  // it at its end).
  if (offerMode === 'unanswered' && Math.floor(n / (OFFER_MODES.length * endings.length)) % 7 === 0) {
    lingering.add(sleep(lingerMs).then(end).catch(failed));
    return;
  }
  await end();
}

const lingering = new Set();
const lingerMs = (jcfgNumber('relay_offer_timeout_seconds', 10) + 2) * 1000;

// A failed cycle, counted by the kind of its failure.
function failed(err) {
  count(`cycle failed: ${err.timeout ? `no reply to ${err.timeout}` : err.message.replace(/[0-9]{6,}/g, '…').slice(0, 70)}`);
}

// Runs `total` cycles, `clients` at a time, starting at most `rate` a second; failures are counted
// by their message's kind.
async function soak(url, total, first) {
  let next = first;
  const end = first + total;
  let done = 0;
  const started = performance.now();
  const progress = setInterval(() => {
    if (process.stdout.isTTY) process.stdout.write(`  ${done}/${total} cycles, ${((performance.now() - started) / 1000).toFixed(0)} s\r`);
  }, 2000);
  const worker = async () => {
    while (next < end) {
      const n = next++;
      const due = started + ((n - first) / rate) * 1000;
      if (due > performance.now()) await sleep(due - performance.now());
      await cycle(url, n).catch(failed);
      done++;
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  await Promise.all(lingering);
  lingering.clear();
  clearInterval(progress);
  return (performance.now() - started) / 1000;
}

// ---- Measuring ------------------------------------------------------------------------------------

async function openAdmin(janus) {
  const link = await JanusLink.open(janus.adminUrl, 'janus-admin-protocol');
  const ask = async (body) => {
    const reply = await link.request({ ...body, admin_secret: janus.adminSecret });
    if (reply.janus !== 'success') throw new Error(`admin ${body.janus}: ${JSON.stringify(reply.error)}`);
    return reply;
  };
  return { ask, close: () => link.close() };
}

// The observer: a session and a handle of the plugin kept alive all along, to ask query_session.
async function openObserver(janus) {
  const client = await Client.open(janus.wsUrl);
  const handle = await client.attach();
  const keepalive = setInterval(() => client.link.request({ janus: 'keepalive', session_id: client.session }).catch(() => {}), 15_000);
  return { session: client.session, handle, close: () => { clearInterval(keepalive); client.link.close(); } };
}

// RSS, fds and threads, and what the fds and threads are (kinds and names: told when one is left).
function processFigures(pid) {
  const rss = Number(/^VmRSS:\s+([0-9]+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  const kinds = (names, kindOf) => {
    const counts = new Map();
    for (const name of names) {
      try {
        const kind = kindOf(name);
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      } catch {
        // gone while we looked
      }
    }
    return counts;
  };
  const fdList = readdirSync(`/proc/${pid}/fd`);
  const taskList = readdirSync(`/proc/${pid}/task`);
  return {
    rss,
    fds: fdList.length,
    threads: taskList.length,
    fdKinds: kinds(fdList, (fd) => readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[[0-9]+\]$/, '')),
    // Janus names a handle's loop thread "hloop <handle id>": counted together.
    threadNames: kinds(taskList, (task) => readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim().replace(/ [0-9]+$/, ' *')),
  };
}

// "+1 socket, -1 hloop 123": what is in `after` and not in `before` (kind counts).
function kindDiff(before, after) {
  const changes = [];
  for (const kind of new Set([...before.keys(), ...after.keys()])) {
    const delta = (after.get(kind) ?? 0) - (before.get(kind) ?? 0);
    if (delta !== 0) changes.push(`${delta > 0 ? '+' : ''}${delta} ${kind}`);
  }
  return changes.join(', ') || 'same kinds';
}

// query_session's plugin-wide counters (its "plugin" object); null when the plugin answers none.
function pluginCounters(specific) {
  const object = specific?.plugin;
  if (!object || !COUNTERS.some((key) => typeof object[key] === 'number')) return null;
  return Object.fromEntries(COUNTERS.map((key) => [key, typeof object[key] === 'number' ? object[key] : null]));
}

async function measure(janus, admin, observer) {
  const figures = processFigures(janus.pid);
  const { sessions } = await admin.ask({ janus: 'list_sessions' });
  let handles = 0;
  for (const session of sessions) {
    try {
      handles += (await admin.ask({ janus: 'list_handles', session_id: session })).handles.length;
    } catch {
      // the session went between the two questions
    }
  }
  const info = await admin.ask({ janus: 'handle_info', session_id: observer.session, handle_id: observer.handle, plugin_only: true });
  return { ...figures, sessions: sessions.length, handles, plugin: pluginCounters(info.info?.plugin_specific) };
}

// The highest of each figure while cycles run, sampled every second.
function peakSampler(janus, admin, observer) {
  let peak = null;
  let busy = false;
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await measure(janus, admin, observer);
      peak = peak ? mergeMax(peak, now) : now;
    } catch {
      // a sample lost to the load is no figure
    }
    busy = false;
  };
  const timer = setInterval(sample, 1000);
  return async () => {
    clearInterval(timer);
    while (busy) await sleep(50);
    await sample(); // the figures as the last cycles end
    return peak;
  };
}

function mergeMax(a, b) {
  const out = {};
  for (const key of ['rss', 'fds', 'threads', 'sessions', 'handles']) out[key] = Math.max(a[key], b[key]);
  out.plugin = a.plugin && b.plugin
    ? Object.fromEntries(COUNTERS.map((key) => [key, Math.max(a.plugin[key] ?? -Infinity, b.plugin[key] ?? -Infinity)]))
    : a.plugin ?? b.plugin;
  return out;
}

// ---- The run --------------------------------------------------------------------------------------

const mib = (bytes) => (bytes / 1048576).toFixed(1);
const rows = [
  ['Janus RSS (MiB)', (m) => m.rss, mib],
  ['open fds', (m) => m.fds],
  ['threads', (m) => m.threads],
  ['Janus sessions', (m) => m.sessions],
  ['Janus handles', (m) => m.handles],
  ...COUNTERS.map((key) => [`plugin ${key}`, (m) => m.plugin?.[key] ?? null]),
];

function printTable(columns) {
  const cell = (value, format) => (value === null || value === undefined ? 'n/a' : (format ? format(value) : String(value)));
  console.log(['figure'.padEnd(24), ...columns.map(([name]) => name.padStart(10))].join(''));
  for (const [name, get, format] of rows) {
    console.log([name.padEnd(24), ...columns.map(([, m]) => cell(m && get(m), format).padStart(10))].join(''));
  }
}

// One line per figure: back to its baseline or not. Returns whether all came back.
function verdicts(cold, warm, after) {
  let ok = true;
  const say = (name, back, detail) => {
    if (back === false) ok = false;
    console.log(`${back === null ? 'n/a ' : back ? 'BACK' : 'LEAK'}  ${name}: ${detail}`);
  };
  const growth = after.rss - warm.rss;
  say('RSS', growth <= rssToleranceMiB * 1048576,
    `${mib(after.rss)} MiB after, ${mib(warm.rss)} MiB warm (${growth >= 0 ? '+' : ''}${mib(growth)} MiB, `
    + `${Math.round(growth / cycles)} bytes a cycle; tolerance ${rssToleranceMiB} MiB); cold ${mib(cold.rss)} MiB`);
  for (const [key, kinds] of [['fds', 'fdKinds'], ['threads', 'threadNames']]) {
    const back = after[key] === warm[key];
    say(key, back, `${after[key]} after, ${warm[key]} warm, ${cold[key]} cold`
      + `${back ? '' : ` (since warm: ${kindDiff(warm[kinds], after[kinds])})`}; cold to warm: ${kindDiff(cold[kinds], warm[kinds])}`);
  }
  for (const key of ['sessions', 'handles']) {
    say(`Janus ${key}`, after[key] === cold[key], `${after[key]} after, ${cold[key]} cold (the observer's)`);
  }
  for (const key of COUNTERS) {
    if (after.plugin?.[key] == null || cold.plugin?.[key] == null) {
      say(`plugin ${key}`, null, "query_session does not answer it (the plugin's counters are not in this build)");
    } else {
      say(`plugin ${key}`, after.plugin[key] === cold.plugin[key], `${after.plugin[key]} after, ${cold.plugin[key]} cold`);
    }
  }
  return ok;
}

const janus = await startJanus();
let exitCode = 0;
const stopAll = [];
process.once('SIGINT', async () => {
  for (const stop of stopAll) stop();
  await janus.stop();
  process.exit(130);
});
try {
  const admin = await openAdmin(janus);
  const observer = await openObserver(janus);
  stopAll.push(() => admin.close(), () => observer.close());
  console.log(`Janus ${janus.pid} (log ${janus.log}); plugin settings ${options.jcfg}`);
  console.log(`${warmup} warm-up and ${cycles} measured cycles, ${clients} clients at a time, at most ${rate.toFixed(1)} `
    + `cycles a second, settle ${settleSeconds} s`);
  if (settleSeconds <= graceSeconds) console.log(`(a settle of ${settleSeconds} s is within share_empty_grace_seconds: expired shares are not back yet)`);
  const cold = await measure(janus, admin, observer);
  if (!cold.plugin) console.log('query_session answers no plugin-wide counters in this build: those rows are n/a');

  console.log(`warm-up: ${warmup} cycles`);
  await soak(janus.wsUrl, warmup, 0);
  await sleep(settleSeconds * 1000);
  const warm = await measure(janus, admin, observer);

  tally.clear();
  console.log(`soak: ${cycles} cycles`);
  const sampler = peakSampler(janus, admin, observer);
  const seconds = await soak(janus.wsUrl, cycles, warmup);
  const peak = await sampler();
  console.log(`  ${cycles} cycles in ${seconds.toFixed(1)} s (${(cycles / seconds).toFixed(1)} a second); settling ${settleSeconds} s`);
  console.log('replies and outcomes of the measured cycles:');
  for (const [what, n] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${what}`);
  await sleep(settleSeconds * 1000);
  if (!janus.alive()) throw new Error(`Janus died during the soak; log: ${janus.log}`);
  const after = await measure(janus, admin, observer);

  console.log('');
  printTable([['cold', cold], ['warm', warm], ['peak', peak], ['after', after]]);
  console.log('');
  if (!verdicts(cold, warm, after)) exitCode = 1;
  // A cycle that failed met a refusal it did not expect or a request left without a reply.
  const failures = [...tally].filter(([what]) => what.startsWith('cycle failed: '));
  const failed = failures.reduce((sum, [, n]) => sum + n, 0);
  console.log(failed === 0 ? 'OK    cycles: every measured cycle ran to its end'
    : `FAIL  cycles: ${failed} failed (${failures.map(([what, n]) => `${what.slice(14)}: ${n}`).join('; ')})`);
  if (failed > 0) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  for (const stop of stopAll) stop();
  await janus.stop();
}
process.exit(exitCode);
