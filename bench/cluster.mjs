#!/usr/bin/env node
// One share across two Janus nodes (issue 16): what a signal costs when its two members are on
// different nodes (through nats-server) against the same node, measured in one run.
//
// startServer({nodes: 2}) starts nats-server and nodes a and b; every member has a WebSocket of
// its own, straight to its node's port (not through nginx). --pairs shares of two members each,
// in turn a same-node pair (both on one node) and a cross-node pair (one on each); the nodes take
// turns holding the owners. Then --round-trips pings on a fixed schedule of --rate a second (open
// loop), from the pairs in turn: the joiner signals the owner, the owner signals the same payload
// back at once; the time from sending the ping to the echo's arrival is the round trip (two
// signals, each one request and one event). Printed: p50/p99 and count for each kind of pair and
// the ratio cross/same, and the CPU seconds of nats-server and of each Janus during the pings.
// A member sends --rate / --pairs signals a second: keep that within the plugin's request budget
// of a WebSocket (requests_per_second, 20 in the shipped jcfg), or pings are refused (468).
//
//   node bench/cluster.mjs [--pairs 20] [--round-trips 2000] [--rate 100] [--payload-bytes 512]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { janusConnection, startServer } from '../tests/e2e/harness.mjs';
import { processCpu } from './lib/cpu.mjs';
import { paced, percentile, sleep } from './lib/load.mjs';

const { values: options } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    'round-trips': { type: 'string', default: '2000' },
    rate: { type: 'string', default: '100' },
    'payload-bytes': { type: 'string', default: '512' },
  },
});
const wholeNumber = (name, min) => {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number from ${min}, not '${options[name]}'`);
  return value;
};
const pairCount = wholeNumber('pairs', 2);
const roundTrips = wholeNumber('round-trips', 1);
const rate = wholeNumber('rate', 1);
const pad = 'x'.repeat(wholeNumber('payload-bytes', 0));
const ECHO_MS = 10_000; // a ping not echoed this long is lost

// A member of a share on its own WebSocket to `node`: its handle, and `onSignal(data)` called
// with every signal event it receives.
async function member(node, onSignal) {
  const conn = await janusConnection(node.wsUrl);
  const handle = await conn.attach(await conn.session());
  conn.watchers.add({
    accepts: (msg) => msg.plugindata?.data?.event === 'signal',
    resolve: (msg) => {
      conn.events.length = 0; // nothing reads them
      onSignal(msg.plugindata.data);
    },
  });
  return { conn, handle, node: node.id };
}

const server = await startServer({ nodes: 2 });
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.stop().finally(() => process.exit(130)));
const conns = [];
let keepalive = null;
try {
  const pending = new Map(); // ping seq -> {at, kind}
  const times = { same: [], cross: [] };
  const lost = { same: 0, cross: 0 };
  const refused = new Map(); // why -> how many pings or echoes were refused
  const refuse = (answer) => {
    const why = answer.error_code ? `${answer.error_code}: ${answer.error}` : JSON.stringify(answer);
    refused.set(why, (refused.get(why) ?? 0) + 1);
  };
  const pairs = [];
  for (let k = 0; k < pairCount; k++) {
    const kind = k % 2 ? 'cross' : 'same';
    const home = server.nodes[Math.floor(k / 2) % 2];
    const away = kind === 'same' ? home : server.nodes.find((n) => n !== home);
    const pair = { kind };
    const owner = await member(home, async ({ from, payload }) => {
      const answer = await pair.owner.handle.request({ request: 'signal', share: pair.share, to: from, payload }); // the echo
      if (answer.swarmdrop !== 'signalled') refuse(answer);
    });
    const joiner = await member(away, ({ payload }) => {
      const ping = pending.get(payload.seq);
      if (!ping) return;
      pending.delete(payload.seq);
      times[ping.kind].push(performance.now() - ping.at);
    });
    conns.push(owner.conn, joiner.conn);
    const created = await owner.handle.request({ request: 'create' });
    if (!created.share) throw new Error(`create on ${home.id}: ${JSON.stringify(created)}`);
    const joined = await joiner.handle.request({ request: 'join', share: created.share });
    if (!joined.peer) throw new Error(`join on ${away.id}: ${JSON.stringify(joined)}`);
    Object.assign(pair, { owner, joiner, share: created.share, to: created.peer, joined: joined.peer });
    pairs.push(pair);
  }
  // The owner's node must know the joiner before the owner can answer it.
  for (let waited = 0; ; waited += 50) {
    const heard = pairs.every(({ owner, joined }) => owner.conn.events.some((m) => m.plugindata?.data?.peer === joined));
    if (heard) break;
    if (waited > ECHO_MS) throw new Error('owners did not hear of their joiners (peer_joined)');
    await sleep(50);
  }
  keepalive = setInterval(() => { for (const conn of conns) conn.keepalive(); }, 20_000);

  const pids = { 'nats-server': server.engine.pid(), ...Object.fromEntries(server.nodes.map((n) => [`Janus ${n.id}`, n.pid()])) };
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpu(pid)]));
  const started = performance.now();
  const lag = await paced(roundTrips, rate, async (seq) => {
    const pair = pairs[seq % pairs.length];
    pending.set(seq, { at: performance.now(), kind: pair.kind });
    const answer = await pair.joiner.handle.request({ request: 'signal', share: pair.share, to: pair.to, payload: { seq, pad } });
    if (answer.swarmdrop !== 'signalled') refuse(answer);
  });
  for (let waited = 0; pending.size && waited < ECHO_MS; waited += 50) await sleep(50);
  const seconds = (performance.now() - started) / 1000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpu(pid) - cpuBefore[name]]));
  for (const { kind } of pending.values()) lost[kind] += 1;

  console.log(`swarmdrop cluster benchmark: 2 nodes and nats-server; ${pairCount} pairs (${pairs.filter((p) => p.kind === 'same').length} same-node, `
    + `${pairs.filter((p) => p.kind === 'cross').length} cross-node), one WebSocket a member; ${roundTrips} signal round trips `
    + `at ${rate}/s, payload ${pad.length} bytes; client's worst lag behind the schedule ${lag.toFixed(1)} ms`);
  console.log('\npairs         count   p50 ms   p99 ms   max ms  lost');
  const stat = {};
  for (const kind of ['same', 'cross']) {
    const sorted = times[kind].sort((a, b) => a - b);
    stat[kind] = { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    const ms = (v) => (sorted.length ? v.toFixed(2) : '-').padStart(8);
    console.log(`${`${kind}-node`.padEnd(12)}${String(sorted.length).padStart(7)} ${ms(stat[kind].p50)} ${ms(stat[kind].p99)} ${ms(sorted.at(-1))}  ${lost[kind]}`);
  }
  if (refused.size) console.log(`refused: ${[...refused].map(([why, n]) => `${n} × ${why}`).join('; ')}`);
  console.log(`cross/same: p50 ${(stat.cross.p50 / stat.same.p50).toFixed(2)} (+${(stat.cross.p50 - stat.same.p50).toFixed(2)} ms), `
    + `p99 ${(stat.cross.p99 / stat.same.p99).toFixed(2)} (+${(stat.cross.p99 - stat.same.p99).toFixed(2)} ms)`);
  console.log(`\nCPU seconds over the ${seconds.toFixed(1)} s of pings: ${Object.entries(cpu).map(([name, s]) => `${name} ${s.toFixed(2)}`).join(', ')}`);
  for (const node of server.nodes) {
    const { owner } = pairs.find((pair) => pair.owner.node === node.id);
    const stats = await owner.handle.request({ request: 'stats', admin_key: server.adminKey });
    console.log(`node ${node.id} stats, cluster part: ${JSON.stringify(stats.cluster)}`);
  }
} finally {
  clearInterval(keepalive);
  for (const conn of conns) conn.close();
  await server.stop();
}
