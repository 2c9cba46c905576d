#!/usr/bin/env node
// Signalling at scale (issue 14): up to --sessions concurrent Janus sessions on the plugin, each
// a member of one share, and the round trips of create, join and signal under a fixed offered
// load. No browser, no root.
//
// The server is the real one (tests/e2e/harness.mjs startServer: scripts/serve.sh with the plugin
// limits of --jcfg, unchanged); the bench talks to Janus's WebSocket port directly, not through
// nginx, whose per-address bounds (32 WebSockets) are meant for one client, not for thousands.
// Everything else stays within the plugin's per-connection limits, read from that jcfg: each
// WebSocket carries max_members_per_connection Janus sessions (one handle each, one membership
// each), a share's members are spread so that no WebSocket holds more than
// max_seats_per_connection of them, and the offered rates keep every WebSocket far under its
// request budget. So nothing here is refused unless the server is at fault.
// Another --jcfg is taken as it is; the limits that differ from the shipped ones are printed.
//
// Phases, each with Janus's CPU seconds, RSS and PSS, threads and fds after it:
//   connect  WebSockets opened --batch at a time; on each, its Janus sessions and handles
//            (the round trips of Janus's own "create" and "attach" are printed as session and
//            attach);
//   create   one owner per share sends `create`, at --setup-rate a second;
//   join     every other member sends `join` in a random order, at --setup-rate a second (each
//            join also sends peer_joined to everyone already in that share);
//   signal   --signal-seconds of `signal` at --signal-rate a second from a random member to a
//            random other member of its share, with a --payload-bytes payload: the answer
//            ("signalled") and the delivery (the `signal` event at the target) are timed.
// Requests go out on a fixed schedule (open loop: a slow answer does not hold the next request
// back), so the figures are the server's latencies at that offered rate, not a queue in this
// client; the client's own event-loop delay (p99) and its worst lag behind the schedule are
// printed beside them to show it kept up. Keepalives go to every session every 20 s throughout
// (Janus's session_timeout is 60 s), as browsers send them.
// Shares: sizes taken in turn from --sizes until --sessions members are placed (the last share
// takes what is left).
// Janus's busiest threads in each phase are printed from /proc (per-thread CPU), and the CPU
// time of all other processes (a busy machine skews the figures); --perf also samples Janus with
// `perf record -g` during the join and signal phases and prints the top symbols.
// --nodes N (issue 16): N Janus nodes and nats-server (startServer({nodes})); WebSocket s goes to
// node s % N's own port, so a share's members are spread over the nodes and most joins and
// signals cross nodes. Each node's figures are printed, nats-server's CPU seconds, signal
// delivery split into same-node and cross-node, and each node's cluster stats at the end.
//
//   node bench/signalling.mjs [--sessions 10000] [--sizes 2,4,8,16,32,64] [--batch 50]
//                             [--setup-rate 200] [--signal-rate 500] [--signal-seconds 20]
//                             [--payload-bytes 512] [--jcfg conf/janus.plugin.swarmdrop.jcfg] [--perf]
//                             [--nodes 1]
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { janusConnection, repoRoot, startServer, treeMemory } from '../tests/e2e/harness.mjs';
import { clockTicks, processCpu, statCpu } from './lib/cpu.mjs';
import { paced, percentile, sleep } from './lib/load.mjs';

const shippedJcfg = join(repoRoot, 'conf/janus.plugin.swarmdrop.jcfg');
const { values: options } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000' },
    sizes: { type: 'string', default: '2,4,8,16,32,64' },
    batch: { type: 'string', default: '50' },
    'setup-rate': { type: 'string', default: '200' },
    'signal-rate': { type: 'string', default: '500' },
    'signal-seconds': { type: 'string', default: '20' },
    'payload-bytes': { type: 'string', default: '512' },
    jcfg: { type: 'string', default: shippedJcfg },
    perf: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '1' },
  },
});
const wholeNumber = (name, min = 1) => {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number from ${min}, not '${options[name]}'`);
  return value;
};
const sessionCount = wholeNumber('sessions', 2);
const batch = wholeNumber('batch');
const setupRate = wholeNumber('setup-rate');
const signalRate = wholeNumber('signal-rate');
const signalSeconds = wholeNumber('signal-seconds');
const payloadBytes = wholeNumber('payload-bytes', 0);
const nodeCount = wholeNumber('nodes');
const sizes = options.sizes.split(',').map(Number);
if (!sizes.every((size) => Number.isInteger(size) && size >= 2)) throw new Error(`--sizes: whole numbers from 2, not '${options.sizes}'`);

const ANSWER_MS = 30_000; // a request unanswered this long counts as "no answer"
const KEEPALIVE_ROUNDS = 20; // every session gets a keepalive once in this many seconds

// The plugin's limits the plan must keep (the shipped jcfg names them all).
function pluginLimits(path) {
  const text = readFileSync(path, 'utf8');
  const limits = {};
  for (const key of ['max_shares', 'max_peers_per_share', 'max_handles_per_connection', 'max_shares_per_connection',
    'max_members_per_connection', 'max_seats_per_connection', 'requests_per_second', 'request_burst']) {
    const match = new RegExp(`^\\s*${key}\\s*=\\s*([0-9]+)`, 'm').exec(text);
    if (!match) throw new Error(`${path} does not set ${key}: the bench plans within the limits it reads there`);
    limits[key] = Number(match[1]);
  }
  return limits;
}

// Share sizes summing to `total`, taken in turn from `mix`; a last single member joins the share
// before it (or takes one seat of it, when that one is full).
function shareSizes(total, mix, maxPeers) {
  const out = [];
  for (let left = total, i = 0; left > 0; i++) {
    const size = Math.min(mix[i % mix.length], left);
    out.push(size);
    left -= size;
  }
  if (out.length > 1 && out.at(-1) === 1) {
    out.pop();
    if (out.at(-1) < maxPeers) out[out.length - 1] += 1;
    else { out[out.length - 1] -= 1; out.push(2); }
  }
  return out;
}

// Member slot i is on WebSocket i % sockets: a share's consecutive slots land on different
// WebSockets, at most ceil(size / sockets) of them on one.
function plan(limits) {
  const perSocket = Math.min(limits.max_members_per_connection, limits.max_handles_per_connection);
  const shares = shareSizes(sessionCount, sizes, limits.max_peers_per_share);
  const largest = Math.max(...shares);
  const sockets = Math.max(Math.ceil(sessionCount / perSocket), Math.ceil(largest / limits.max_seats_per_connection));
  const refusals = [];
  if (largest > limits.max_peers_per_share) refusals.push(`a share of ${largest} is over max_peers_per_share ${limits.max_peers_per_share}`);
  if (shares.length > limits.max_shares) refusals.push(`${shares.length} shares are over max_shares ${limits.max_shares}`);
  if (Math.min(perSocket, shares.length) > limits.max_shares_per_connection) {
    refusals.push(`a WebSocket may own up to ${perSocket} shares, over max_shares_per_connection ${limits.max_shares_per_connection}`);
  }
  if (perSocket > limits.request_burst) refusals.push(`${perSocket} setup requests at once are over request_burst ${limits.request_burst}`);
  // Signals leave from random members: a WebSocket offers perSocket/sessions of the rate on average.
  const perSocketRate = (signalRate * perSocket) / sessionCount;
  if (perSocketRate > limits.requests_per_second / 2) {
    refusals.push(`--signal-rate ${signalRate} offers ${perSocketRate.toFixed(1)}/s to a WebSocket, over half of requests_per_second ${limits.requests_per_second}`);
  }
  if (refusals.length) throw new Error(`the plan would break the plugin's limits: ${refusals.join('; ')}`);
  const members = [];
  shares.forEach((size, share) => {
    for (let k = 0; k < size; k++) members.push({ share, owner: k === 0, socket: members.length % sockets });
  });
  return { perSocket, shares, sockets, members, perSocketRate };
}

function openFileLimit(pid = 'self') {
  const [soft, hard] = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8')).slice(1);
  return { soft: Number(soft) || Infinity, hard: Number(hard) || Infinity };
}

// Node cannot raise its own descriptor limit: run again under a shell that does, when the hard
// limit allows (once: the environment marks the second run).
function ensureOpenFiles(needed) {
  const { soft, hard } = openFileLimit();
  if (soft >= needed) return { soft, hard, raised: false };
  if (process.env.SWARMDROP_BENCH_NOFILE) throw new Error(`ulimit -n is ${soft} after raising it; the bench needs ${needed}`);
  if (hard < needed) throw new Error(`ulimit -n allows ${hard} descriptors at most; ${sessionCount} sessions need about ${needed}`);
  console.log(`ulimit -n: raising the soft limit from ${soft} to ${needed} (hard ${hard}) and running again`);
  const again = spawnSync('bash', ['-c', `ulimit -n ${needed} && exec "$@"`, 'bash', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, SWARMDROP_BENCH_NOFILE: String(needed) },
  });
  process.exit(again.status ?? 1);
}

// CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal).
function machineBusy() {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + ticks[i], 0) / clockTicks;
}

// One Janus's process figures now.
function janusFigures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpu: processCpu(pid),
    threadTimes: threadTimes(pid),
    rss: Number(/^VmRSS:\s+([0-9]+) kB/m.exec(status)[1]) * 1024,
    pss: treeMemory(pid),
    threads: readdirSync(`/proc/${pid}/task`).length,
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

// Every Janus's figures now (nodes), their sums (cpu, rss, pss), nats-server's CPU seconds
// (engine; 0 without one), and the CPU seconds of everything else on the machine (others: a busy
// machine skews the figures).
function figuresNow() {
  const nodes = janusNodes.map(({ pid }) => janusFigures(pid));
  const total = (key) => nodes.reduce((sum, figures) => sum + figures[key], 0);
  const engine = enginePid ? processCpu(enginePid) : 0;
  const { user, system } = process.cpuUsage();
  return { nodes, cpu: total('cpu'), rss: total('rss'), pss: total('pss'), engine, others: machineBusy() - total('cpu') - engine - (user + system) / 1e6 };
}

// CPU seconds of each Janus thread now, by thread id.
function threadTimes(pid) {
  const times = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      times.set(tid, statCpu(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended while we looked
    }
  }
  return times;
}

// The threads that used most CPU between two threadTimes, by name (numbers in names folded).
function busiestThreads(before, after, count = 6) {
  const byName = new Map();
  for (const [tid, { name, cpu }] of after) {
    const kind = name.replace(/[0-9]+/g, '#');
    const used = cpu - (before.get(tid)?.cpu ?? 0);
    const entry = byName.get(kind) ?? { threads: 0, cpu: 0 };
    byName.set(kind, { threads: entry.threads + 1, cpu: entry.cpu + used });
  }
  return [...byName].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, count)
    .map(([name, { threads, cpu }]) => `${name}${threads > 1 ? ` (${threads})` : ''} ${cpu.toFixed(2)} s`).join(', ');
}

// Samples the whole machine with perf until the function it returns is called; that resolves
// to perf's report for the Janus pids, their top symbols by self time. System-wide: `perf record -p`
// opens a descriptor per thread and CPU, and Janus has a thread per handle.
function profile(pids) {
  const data = join(tmpdir(), `swarmdrop-signalling-${process.pid}-${performance.now().toFixed(0)}.perf`);
  const perf = spawn('perf', ['record', '-a', '-F', '499', '-g', '-o', data], { stdio: 'ignore' });
  const exited = new Promise((resolve) => perf.once('exit', resolve).once('error', resolve));
  return async () => {
    perf.kill('SIGINT');
    await exited;
    const report = spawnSync('perf', ['report', '-i', data, '--pid', pids.join(','), '--stdio', '--no-children', '--sort', 'dso,sym',
      '--percentage', 'relative', '--percent-limit', '1.5', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    rmSync(data, { force: true });
    if (report.status !== 0) return `perf failed: ${report.error?.message ?? report.stderr}`;
    return report.stdout.split('\n').filter((line) => line.trim() && !line.startsWith('#')).slice(0, 20).join('\n');
  };
}

const NO_ANSWER = Symbol('no answer');
async function within(promise, ms = ANSWER_MS) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, ms, NO_ANSWER); });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// Round trips by request kind (ms), and refusals by kind and code.
const timings = new Map();
const failures = new Map();
const fail = (kind, why) => {
  const counts = failures.get(kind) ?? new Map();
  counts.set(why, (counts.get(why) ?? 0) + 1);
  failures.set(kind, counts);
};
const record = (kind, ms) => { (timings.get(kind) ?? timings.set(kind, []).get(kind)).push(ms); };

// Times one request: resolves to its answer when it succeeded (the round trip recorded), or null.
async function timed(kind, request) {
  const started = performance.now();
  const answer = await within(request());
  if (answer === NO_ANSWER) fail(kind, `no answer in ${ANSWER_MS / 1000} s`);
  else if (answer === null) fail(kind, 'refused');
  else if (answer.janus === 'error') fail(kind, `Janus ${answer.error?.code}: ${answer.error?.reason}`);
  else if (answer.error_code) fail(kind, `${answer.error_code}: ${answer.error}`);
  else {
    record(kind, performance.now() - started);
    return answer;
  }
  return null;
}

const MiB = 1 << 20;

const limits = pluginLimits(options.jcfg);
const layout = plan(limits);
const nofile = ensureOpenFiles(layout.sockets + 512);
const server = await startServer({ pluginJcfg: options.jcfg, nodes: nodeCount > 1 ? nodeCount : null });
// The Janus nodes {id, pid, url (its own WebSocket port)}: WebSocket s goes to node s % nodes.
const janusNodes = nodeCount > 1 ? server.nodes.map((node) => ({ id: node.id, pid: node.pid(), url: node.wsUrl })) : [{
  id: 'janus',
  pid: Number(readFileSync(join(server.stateDir, 'janus.pid'), 'utf8')),
  // scripts/serve.sh renders Janus's own port into the websockets transport's config.
  url: `ws://127.0.0.1:${/^\s*ws_port\s*=\s*([0-9]+)/m.exec(readFileSync(join(server.stateDir, 'janus/janus.transport.websockets.jcfg'), 'utf8'))[1]}`,
}];
const enginePid = nodeCount > 1 ? server.engine.pid() : null;
const nodeOf = (member) => member.socket % janusNodes.length;
// Ctrl-C or a kill still stops Janus and nginx (the finally below does not run then).
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.stop().finally(() => process.exit(130)));
const sockets = [];
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
let keepalive = null;
const phases = [];
try {
  const histogram = layout.shares.reduce((counts, size) => counts.set(size, (counts.get(size) ?? 0) + 1), new Map());
  console.log(`swarmdrop signalling benchmark: ${sessionCount} Janus sessions (one handle and one membership each) on `
    + `${layout.sockets} WebSockets straight to Janus (${janusNodes.map((node) => node.url).join(', ')}; not through nginx), ${layout.perSocket} a WebSocket`
    + `${nodeCount > 1 ? `; ${nodeCount} nodes (${janusNodes.map((node) => node.id).join(', ')}) and nats-server, WebSockets in turn` : ''}`);
  const shipped = pluginLimits(shippedJcfg);
  const changed = Object.keys(limits).filter((key) => limits[key] !== shipped[key]);
  console.log(`shares: ${layout.shares.length} (${[...histogram].map(([size, n]) => `${n} of ${size}`).join(', ')}); `
    + `plugin limits from ${options.jcfg}: ${Object.entries(limits).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (changed.length) {
    console.log(`NOT the shipped limits (${shippedJcfg}): ${changed.map((key) => `${key} ${shipped[key]} -> ${limits[key]}`).join(', ')}; `
      + 'the figures hold for that configuration only');
  }
  const janusFiles = Math.min(...janusNodes.map(({ pid }) => openFileLimit(pid).soft));
  // A Janus holds a descriptor per WebSocket and one per handle (its loop's wakeup).
  const janusNeeds = Math.ceil((layout.sockets + sessionCount) / nodeCount) + 512;
  console.log(`ulimit -n: this client ${nofile.soft} (hard ${nofile.hard}; needs about ${layout.sockets + 512}), `
    + `Janus ${janusFiles} (needs about ${janusNeeds})`);
  if (janusFiles < janusNeeds) throw new Error(`Janus may open ${janusFiles} descriptors; ${sessionCount} sessions need about ${janusNeeds}`);
  console.log(`offered: create and join ${setupRate}/s, signal ${signalRate}/s for ${signalSeconds} s `
    + `(about ${layout.perSocketRate.toFixed(2)}/s a WebSocket, budget ${limits.requests_per_second}/s), payload ${payloadBytes} bytes`);

  phases.push({ name: 'idle', seconds: 0, figures: figuresNow(), lag: 0, loopP99: 0 });
  console.log(`load average before: ${loadavg().map((load) => load.toFixed(2)).join(' ')} on ${cpus().length} cores `
    + '(other work on the machine shows in the "others CPU s" column)');
  const phase = async (name, body, { profiled = false } = {}) => {
    const stopProfile = profiled && options.perf ? profile(janusNodes.map(({ pid }) => pid)) : null;
    loopDelay.reset();
    loopDelay.enable();
    const started = performance.now();
    const lag = await body();
    loopDelay.disable();
    const figures = figuresNow();
    phases.push({
      name, seconds: (performance.now() - started) / 1000, figures, lag, loopP99: loopDelay.percentile(99) / 1e6,
      profile: await stopProfile?.(),
    });
    // Events already handled (peer_joined, signal) need not be kept.
    for (const socket of sockets) socket.conn.events.length = 0;
  };

  // Member m's Janus session and handle: members[m].session, .handle; and its share and peer ids.
  const { members } = layout;
  await phase('connect', async () => {
    const bySocket = Array.from({ length: layout.sockets }, () => []);
    members.forEach((member, m) => bySocket[member.socket].push(m));
    for (let first = 0; first < layout.sockets; first += batch) {
      await Promise.all(bySocket.slice(first, first + batch).map(async (mine, i) => {
        const conn = await janusConnection(janusNodes[(first + i) % janusNodes.length].url);
        const socket = { conn, sessions: [] };
        sockets[first + i] = socket;
        for (const m of mine) {
          const session = await timed('session', async () => ({ id: await conn.session() }));
          if (!session) continue;
          socket.sessions.push(session.id);
          members[m].handle = await timed('attach', () => conn.attach(session.id));
        }
      }));
    }
    let round = 0;
    keepalive = setInterval(() => {
      round += 1;
      for (let s = round % KEEPALIVE_ROUNDS; s < sockets.length; s += KEEPALIVE_ROUNDS) {
        for (const session_id of sockets[s].sessions) sockets[s].conn.sendOnly({ janus: 'keepalive', session_id });
      }
    }, 1000);
    return 0;
  });

  const shares = layout.shares.map(() => ({ id: null, members: [] }));
  const owners = members.filter((member) => member.owner && member.handle);
  await phase('create', () => paced(owners.length, setupRate, async (i) => {
    const owner = owners[i];
    const answer = await timed('create', () => owner.handle.request({ request: 'create' }));
    if (!answer) return;
    owner.peer = answer.peer;
    shares[owner.share].id = answer.share;
    shares[owner.share].members.push(owner);
  }));

  const joiners = members.filter((member) => !member.owner && member.handle && shares[member.share].id);
  for (let i = joiners.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [joiners[i], joiners[j]] = [joiners[j], joiners[i]];
  }
  await phase('join', () => paced(joiners.length, setupRate, async (i) => {
    const joiner = joiners[i];
    const share = shares[joiner.share];
    const answer = await timed('join', () => joiner.handle.request({ request: 'join', share: share.id }));
    if (!answer) return;
    joiner.peer = answer.peer;
    share.members.push(joiner);
  }), { profiled: true });

  // Signals in flight by sequence number: when sent, to which Janus session, and whether across
  // nodes.
  const inFlight = new Map();
  for (const { conn } of sockets) {
    conn.watchers.add({
      accepts: (msg) => msg.plugindata?.data?.event === 'signal',
      resolve: (msg) => {
        const { seq } = msg.plugindata.data.payload;
        const sent = inFlight.get(seq);
        if (!sent) return;
        if (sent.to !== msg.session_id) fail('signal delivery', 'delivered to the wrong session');
        inFlight.delete(seq);
        record('signal delivery', performance.now() - sent.at);
        if (nodeCount > 1) record(sent.cross ? 'delivery cross' : 'delivery same', performance.now() - sent.at);
      },
    });
  }
  const senders = shares.filter((share) => share.members.length >= 2);
  const pad = 'x'.repeat(payloadBytes);
  await phase('signal', async () => {
    const lag = await paced(signalRate * signalSeconds, signalRate, async (seq) => {
      const share = senders[Math.floor(Math.random() * senders.length)];
      const from = Math.floor(Math.random() * share.members.length);
      const to = (from + 1 + Math.floor(Math.random() * (share.members.length - 1))) % share.members.length;
      const target = share.members[to];
      inFlight.set(seq, { at: performance.now(), to: target.handle.session, cross: nodeOf(share.members[from]) !== nodeOf(target) });
      const answer = await timed('signal', () => share.members[from].handle.request({
        request: 'signal', share: share.id, to: target.peer, payload: { seq, pad },
      }));
      if (!answer) inFlight.delete(seq);
    });
    for (let waited = 0; inFlight.size && waited < ANSWER_MS; waited += 100) await sleep(100);
    if (inFlight.size) fail('signal delivery', `${inFlight.size} not delivered in ${ANSWER_MS / 1000} s`);
    return lag;
  }, { profiled: true });

  console.log('\nrequest            count   p50 ms   p99 ms   max ms  refused or unanswered');
  for (const kind of ['session', 'attach', 'create', 'join', 'signal', 'signal delivery', ...(nodeCount > 1 ? ['delivery same', 'delivery cross'] : [])]) {
    const sorted = (timings.get(kind) ?? []).sort((a, b) => a - b);
    const failed = [...(failures.get(kind) ?? [])].map(([why, n]) => `${n} × ${why}`).join('; ') || '0';
    const ms = (p) => (sorted.length ? (p === 100 ? sorted.at(-1) : percentile(sorted, p)).toFixed(1) : '-').padStart(8);
    console.log(`${kind.padEnd(16)}${String(sorted.length).padStart(7)} ${ms(50)} ${ms(99)} ${ms(100)}  ${failed}`);
  }
  console.log('(signal: the "signalled" answer to the sender; signal delivery: the event at the target member'
    + `${nodeCount > 1 ? '; delivery same / cross: of those, sender and target on the same node / on two' : ''})`);

  // A row for each phase and node (named after the phase with several); others and the client's
  // figures on a phase's first row.
  console.log('\nphase     seconds  Janus CPU s (phase)  RSS MiB  PSS MiB  threads   fds  others CPU s  client: loop p99 ms, worst lag ms');
  for (const [i, { name, seconds, figures, lag, loopP99 }] of phases.entries()) {
    const used = (now, before) => (i ? now - before : 0).toFixed(2);
    figures.nodes.forEach((node, n) => {
      const others = n ? '' : used(figures.others, phases[i - 1]?.figures.others);
      console.log(`${`${name}${nodeCount > 1 ? ` ${janusNodes[n].id}` : ''}`.padEnd(9)}${seconds.toFixed(1).padStart(8)}  `
        + `${node.cpu.toFixed(2).padStart(11)} (${used(node.cpu, phases[i - 1]?.figures.nodes[n].cpu).padStart(5)})`
        + `${(node.rss / MiB).toFixed(1).padStart(9)}${(node.pss / MiB).toFixed(1).padStart(9)}${String(node.threads).padStart(9)}`
        + `${String(node.fds).padStart(6)}${others.padStart(14)}  ${i && !n ? `${loopP99.toFixed(1)}, ${lag.toFixed(1)}` : ''}`);
    });
  }
  if (nodeCount > 1) {
    console.log(`nats-server CPU s by phase: ${phases.slice(1).map(({ name, figures }, i) => `${name} ${(figures.engine - phases[i].figures.engine).toFixed(2)}`).join(', ')}`);
  }
  const idle = phases[0].figures;
  const joined = phases.find((p) => p.name === 'join').figures;
  const signalPhase = phases.find((p) => p.name === 'signal');
  const held = members.filter((member) => member.peer).length;
  console.log(`\nper session (${held} sessions holding a membership): RSS ${(((joined.rss - idle.rss) / held) / 1024).toFixed(2)} KiB, `
    + `PSS ${(((joined.pss - idle.pss) / held) / 1024).toFixed(2)} KiB, Janus CPU ${(((joined.cpu - idle.cpu) / held) * 1000).toFixed(2)} ms `
    + `to connect, create and join; signalling: ${((((signalPhase.figures.cpu - joined.cpu) / (signalRate * signalSeconds))) * 1e6).toFixed(0)} µs of Janus CPU a signal `
    + `${nodeCount > 1 ? `(all nodes) and ${(((signalPhase.figures.engine - joined.engine) / (signalRate * signalSeconds)) * 1e6).toFixed(0)} µs of nats-server's ` : ''}`
    + `(${(signalRate * signalSeconds / signalPhase.seconds).toFixed(0)} signals/s achieved)`);
  console.log("Janus's busiest threads (CPU s) by phase:");
  for (let i = 1; i < phases.length; i++) {
    janusNodes.forEach(({ id }, n) => {
      const [before, after] = [phases[i - 1], phases[i]].map((phase) => phase.figures.nodes[n].threadTimes);
      console.log(`  ${phases[i].name}${nodeCount > 1 ? ` ${id}` : ''}: ${busiestThreads(before, after)}`);
    });
  }
  if (nodeCount > 1) {
    console.log('cluster stats by node:');
    for (const [n, { id }] of janusNodes.entries()) {
      const asker = members.find((member) => member.handle && nodeOf(member) === n);
      const stats = await asker.handle.request({ request: 'stats', admin_key: server.adminKey });
      console.log(`  ${id}: ${JSON.stringify(stats.cluster)}`);
    }
  }
  for (const { name, profile } of phases.filter((p) => p.profile)) {
    console.log(`\nperf, Janus during the ${name} phase (self time, symbols over 1.5 %):\n${profile}`);
  }
} finally {
  clearInterval(keepalive);
  for (const socket of sockets) socket?.conn.close();
  await server.stop();
}
