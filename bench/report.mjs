#!/usr/bin/env node
// The benchmark report: runs the benchmarks on the machine at hand, each several times, and writes
// docs/report.md with its tables and SVG plots (docs/report/, drawn with vega-lite from npm). Each
// comparison is a ratio whose two sides come from the same run; the tables give min, median and
// max over the runs, with the machine, the versions and the command that reproduces each figure.
//
//   node bench/report.mjs [--runs N] [--only a,b] [--out DIR]   (root; after scripts/test.sh and
//                                                                `cd bench && npm ci`)
//   node bench/report.mjs --smoke --out DIR                      tiny sizes, one run: that every
//                                                                table and plot is made (CI)
//   node bench/report.mjs --from-logs                            no runs: the report again from
//                                                                the results in <out>/report/logs/
//
// --runs: runs of each bench (default 3, at least 3 for the report itself). --only: the steps to
// run again (ids below); the others' results are read back from <out>/report/logs/ as an
// earlier run left them (the report says which and when), or their tables say they were not run. --out: where report.md and report/
// go (default docs/). The benches write their results with --json (bench/lib/result.mjs); their
// output and results go to <out>/report/logs/ (kept: the raw figures behind the tables). A bench that fails is reported as failed in its section
// and makes the exit status 1; the rest still run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { describeCommit } from './lib/result.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// What runs: one step per bench invocation. `netns`: inside scripts/in-netns.sh (the benches
// that need one namespace); the others build their own labs. full / smoke: their arguments.

const STEPS = [
  { id: 'cloud', bench: 'cloud', full: ['--mib', '32', '--mbit', '20', '--receivers', '1,4'], smoke: ['--mib', '2', '--mbit', '20', '--receivers', '1,2'] },
  { id: 'transfer', bench: 'transfer', netns: true, full: ['256'], smoke: ['8'] },
  { id: 'transfer-shaped', bench: 'transfer', netns: true, full: ['128', '--mbit', '80'], smoke: ['8', '--mbit', '80'] },
  { id: 'relay', bench: 'relay', full: ['64', '16', '40'], smoke: ['4', '4', '40'] },
  { id: 'swarm', bench: 'swarm', full: ['--receivers', '2,4,8', '--mib', '8', '--mbit', '8', '--rounds', '1'], smoke: ['--receivers', '2', '--mib', '2', '--mbit', '8', '--rounds', '1'] },
  { id: 'stream', bench: 'stream', full: [], smoke: ['--video-seconds', '30'] },
  { id: 'proximity', bench: 'proximity', full: ['--mib', '32'], smoke: ['--mib', '2'] },
  { id: 'media', bench: 'media', netns: true, full: ['1024'], smoke: ['16'] },
  { id: 'large', bench: 'large', netns: true, full: ['512', '1024,4096'], smoke: ['16', '32'] },
  { id: 'browsers', bench: 'browsers', netns: true, full: ['--mib', '64'], smoke: ['--mib', '4', '--video-seconds', '8', '--play-seconds', '3'] },
];

function parseArgs(argv) {
  const options = { runs: 3, only: null, out: join(repo, 'docs'), smoke: false };
  let fromLogs = false;
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    const arg = argv[i];
    if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--only') options.only = value().split(',');
    else if (arg === '--out') options.out = value();
    else if (arg === '--smoke') options.smoke = true;
    else if (arg === '--from-logs') fromLogs = true;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (options.smoke) options.runs = 1;
  if (fromLogs) options.only = []; // run nothing, read every step back
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs takes a whole number, at least 1');
  const unknown = (options.only ?? []).filter((id) => !STEPS.some((step) => step.id === id));
  if (unknown.length > 0) throw new Error(`no step ${unknown.join(', ')} (steps: ${STEPS.map((s) => s.id).join(', ')})`);
  return options;
}

// The command line of a step, as one would type it.
function commandOf(step, options) {
  const args = options.smoke ? step.smoke : step.full;
  return [...(step.netns ? ['scripts/in-netns.sh'] : []), 'node', `bench/${step.bench}.mjs`, ...args].join(' ');
}

// The bench running now, killed with its process group (its namespaces' processes go with the
// scripts that made them) when this script is stopped, or when it outlives STEP_TIMEOUT_MS.
let running = null;
const STEP_TIMEOUT_MS = 45 * 60_000;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (running) process.kill(-running.pid, 'SIGTERM');
    process.exit(130);
  });
}

// Runs a step once: resolves to its results, or throws with the end of its output.
function runStep(step, options, run, logDir) {
  const json = join(logDir, `${step.id}-${run}.json`);
  const logPath = join(logDir, `${step.id}-${run}.log`);
  const args = [...(options.smoke ? step.smoke : step.full), '--json', json];
  const [command, argv] = step.netns
    ? [join(repo, 'scripts/in-netns.sh'), ['node', `bench/${step.bench}.mjs`, ...args]]
    : ['node', [`bench/${step.bench}.mjs`, ...args]];
  const log = createWriteStream(logPath);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running = child;
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGTERM'), STEP_TIMEOUT_MS);
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running = null;
      log.end();
      try {
        if (code !== 0) throw new Error(`exit ${code ?? signal}`);
        resolve(JSON.parse(readFileSync(json, 'utf8')).results);
      } catch (error) {
        let tail = '';
        try {
          tail = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          // no output at all
        }
        reject(new Error(`${step.id} run ${run}: ${error.message}\n${tail}`));
      }
    });
  });
}

// A step's results as an earlier report run left them in logDir ({results: [...], at: when the
// first was written, commit: the code it ran}), if all its runs are there; else null.
function earlierResults(step, options, logDir) {
  const results = [];
  let at = null;
  let commit = null;
  for (let run = 1; run <= options.runs; run++) {
    try {
      const written = JSON.parse(readFileSync(join(logDir, `${step.id}-${run}.json`), 'utf8'));
      results.push(written.results);
      at ??= written.at;
      commit ??= written.commit ?? 'unrecorded';
    } catch {
      return null;
    }
  }
  return { results, at, commit };
}

// ---------------------------------------------------------------------------------------------
// Figures over runs

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// {min, median, max, n} of pick(results) over a step's runs (numbers only), or null.
function spread(runs, pick) {
  const values = (runs ?? []).map((results) => {
    try {
      return pick(results);
    } catch {
      return null;
    }
  }).filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return null;
  return { min: Math.min(...values), median: median(values), max: Math.max(...values), n: values.length };
}

// "median (min–max)" with `digits` decimals, or "—".
function shown(s, digits = 1) {
  if (!s) return '—';
  const f = (v) => v.toFixed(digits);
  return s.n === 1 || s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function table(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Plots: vega-lite to SVG

// Bars of medians with min–max whiskers: rows [{group, series, s: spread}], one bar per series in
// each group. Written to <plots>/<name>.svg; returns the markdown that shows it.
async function barPlot(plots, name, title, unit, rows) {
  const values = rows.filter((r) => r.s).map((r) => ({ group: String(r.group), series: r.series, median: r.s.median, min: r.s.min, max: r.s.max }));
  const encodeX = { field: 'group', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    width: { step: 28 },
    height: 180,
    encoding: { x: encodeX, xOffset: { field: 'series', sort: null }, color: { field: 'series', title: null, sort: null, legend: { labelLimit: 400 } } },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'median', type: 'quantitative', title: unit } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
  return writePlot(plots, name, spec, title);
}

// Lines of medians over a numeric x: rows [{x, series, s}].
async function linePlot(plots, name, title, xTitle, unit, rows) {
  const values = rows.filter((r) => r.s).map((r) => ({ x: r.x, series: r.series, median: r.s.median, min: r.s.min, max: r.s.max }));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    width: 360,
    height: 200,
    encoding: { x: { field: 'x', type: 'quantitative', title: xTitle }, color: { field: 'series', title: null, sort: null, legend: { labelLimit: 400 } } },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'median', type: 'quantitative', title: unit } } },
      { mark: 'rule', encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
  return writePlot(plots, name, spec, title);
}

async function writePlot(plots, name, spec, title) {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(join(plots.dir, `${name}.svg`), await view.toSVG());
  plots.made.push(name);
  return `![${title}](${plots.link}/${name}.svg)`;
}

// ---------------------------------------------------------------------------------------------
// The report's sections: each takes the runs of its steps and returns markdown.

const notRun = (id, failures) => (failures[id] ? `**Not measured: the bench failed** (${failures[id].split('\n')[0]}; log in report/logs/).` : '_Not run in this report (`--only`)._');

async function cloudSection(runs, failures, plots, commands) {
  const r = runs.cloud;
  let text = `## 1. Peer to peer against the cloud way

One sender and 1 or more receivers, each on a host of its own behind the same shaped links. P2P:
swarmdrop, the receivers fetching from the sender and from each other. The cloud way: the sender
uploads the file to an HTTP server (nginx) and the receivers download it from there. Time from the
sender picking the file until every receiver has it (P2P: the sender's page making the link, then
the receivers; the cloud: the upload, then the downloads), and the bytes that went through a server.

\`${commands.cloud}\`

`;
  if (!r) return text + notRun('cloud', failures);
  const counts = r[0].rows.map((row) => row.receivers);
  const rows = [];
  const plotRows = [];
  for (const n of counts) {
    const at = (pick) => spread(r, (x) => pick(x.rows.find((row) => row.receivers === n)));
    const p2p = at((row) => row.p2p.seconds);
    const cloud = at((row) => row.cloud.seconds);
    // Each run's own ratio, then their spread: both sides of a ratio from the same run.
    const speedup = at((row) => row.cloud.seconds / row.p2p.seconds);
    rows.push([n, shown(p2p), shown(at((row) => row.p2p.linkSeconds), 2), shown(cloud), shown(at((row) => row.cloud.uploadSeconds)), shown(speedup, 2),
      shown(at((row) => row.p2p.serverBytes / 1e6), 2), shown(at((row) => row.cloud.serverBytes / 1e6), 1)]);
    plotRows.push({ group: `${n} receivers`, series: 'swarmdrop P2P', s: p2p }, { group: `${n} receivers`, series: 'upload, then download', s: cloud });
  }
  text += table(['receivers', 'P2P s', 'of which the link s', 'cloud s', 'of which upload s', 'cloud / P2P time', 'P2P server MB', 'cloud server MB'], rows);
  text += `\n\n${await barPlot(plots, 'cloud', 'Time until every receiver has the file', 'seconds', plotRows)}\n`;
  return text;
}

async function pathsSection(runs, failures, plots, commands) {
  let text = `## 2. Direct, TURN and the plugin's relay

Direct: one transfer between two Chromium processes against a raw RTCDataChannel blast between the
same two processes (same message size and watermarks, no encryption, no disk), unshaped (the
browsers then share the machine's cores, docs/architecture.md "Throughput") and with the loopback
shaped so that the channel is the limit. Relay: two browsers behind symmetric NATs, through the
plugin and through coturn's TURN, 1:1 and from one sender with a shaped uplink to four receivers.

\`${commands.transfer}\`  
\`${commands['transfer-shaped']}\`  
\`${commands.relay}\`

`;
  const rows = [];
  const plotRows = [];
  for (const id of ['transfer', 'transfer-shaped']) {
    const r = runs[id];
    if (!r) {
      rows.push([id === 'transfer' ? 'direct, unshaped' : 'direct, shaped', '—', '—', '—', notRun(id, failures)]);
      continue;
    }
    const label = id === 'transfer' ? 'direct, unshaped' : `direct, ${r[0].mbit} Mbit/s`;
    const ours = spread(r, (x) => x.swarmdropMBps);
    const raw = spread(r, (x) => x.rawMBps);
    rows.push([label, shown(ours), `raw blast ${shown(raw)}`, shown(spread(r, (x) => x.ratio), 2), `CPU per GB sender/receiver ${shown(spread(r, (x) => x.cpuPerGB.sender), 0)} / ${shown(spread(r, (x) => x.cpuPerGB.receiver), 0)} s (raw ${shown(spread(r, (x) => x.cpuPerGB.rawSender), 0)} / ${shown(spread(r, (x) => x.cpuPerGB.rawReceiver), 0)})`]);
    plotRows.push({ group: label, series: 'swarmdrop', s: ours }, { group: label, series: 'baseline', s: raw });
  }
  const relay = runs.relay;
  if (relay) {
    const plugin = spread(relay, (x) => x.oneToOne.pluginMBps);
    const turn = spread(relay, (x) => x.oneToOne.turnMBps);
    rows.push(['relay 1:1', shown(plugin), `TURN ${shown(turn)}`, shown(spread(relay, (x) => x.oneToOne.speedup), 2),
      `Janus ${shown(spread(relay, (x) => x.oneToOne.janusCpuPerGB), 0)} s/GB, coturn ${shown(spread(relay, (x) => x.oneToOne.coturnCpuPerGB), 0)} s/GB`]);
    plotRows.push({ group: 'relay 1:1', series: 'swarmdrop', s: plugin }, { group: 'relay 1:1', series: 'baseline', s: turn });
    const fan = relay[0].fanOut;
    rows.push([`relay 1 to ${fan.receivers}, uplink ${fan.uplinkMbit} Mbit/s`, `${shown(spread(relay, (x) => x.fanOut.pluginSeconds))} s`,
      `TURN ${shown(spread(relay, (x) => x.fanOut.turnSeconds))} s`, shown(spread(relay, (x) => x.fanOut.speedup), 2),
      `sender uploaded ${shown(spread(relay, (x) => x.fanOut.pluginCopies), 2)} copies (TURN ${shown(spread(relay, (x) => x.fanOut.turnCopies), 2)})`]);
  } else {
    rows.push(['relay', '—', '—', '—', notRun('relay', failures)]);
  }
  text += table(['path', 'swarmdrop (MB/s, or s)', 'baseline', 'swarmdrop / baseline speed', 'notes'], rows);
  text += `\n\n${await barPlot(plots, 'paths', 'Throughput by path', 'MB/s', plotRows)}\n`;
  return text;
}

async function swarmSection(runs, failures, plots, commands) {
  const r = runs.swarm;
  let text = `## 3. The swarm's offload

One origin and N receivers joining together, every host behind its own shaped link: how many
copies of the file the origin uploaded, and the time until all had it, for swarmdrop, WebTorrent
in the same Chromium, and the origin serving every receiver itself.

\`${commands.swarm}\`

`;
  if (!r) return text + notRun('swarm', failures);
  const counts = r[0].rows.map((row) => row.receivers);
  const rows = [];
  const copies = [];
  const seconds = [];
  const sides = [['swarmdrop', 'swarmdrop'], ['webtorrent', 'WebTorrent'], ['alone', 'origin alone']];
  for (const n of counts) {
    const at = (side, field) => spread(r, (x) => x.rows.find((row) => row.receivers === n)[side]?.[field]);
    rows.push([n, ...sides.flatMap(([side]) => [shown(at(side, 'originCopies'), 2), shown(at(side, 'seconds'))])]);
    for (const [side, label] of sides) {
      copies.push({ x: n, series: label, s: at(side, 'originCopies') });
      seconds.push({ x: n, series: label, s: at(side, 'seconds') });
    }
  }
  text += table(['receivers', 'swarmdrop copies', 'swarmdrop s', 'WebTorrent copies', 'WebTorrent s', 'alone copies', 'alone s'], rows);
  text += `\n\n${await linePlot(plots, 'swarm-copies', 'Copies the origin uploaded', 'receivers', 'copies of the file', copies)}`;
  text += `\n${await linePlot(plots, 'swarm-seconds', 'Time until all receivers have the file', 'receivers', 'seconds', seconds)}\n`;
  return text;
}

async function streamSection(runs, failures, plots, commands) {
  const r = runs.stream;
  let text = `## 4. Streaming

A video watched while it downloads: swarmdrop (sender browser to receiver browser, played through
the service worker) against the same file from nginx as a progressive HTTP download, to the same
browser over the same shaped link; each counted from opening its page (the share link, or a page
of nginx's with the video in it).

\`${commands.stream}\`

`;
  if (!r) return text + notRun('stream', failures);
  const rows = [];
  const plotRows = [];
  for (const [side, label] of [['swarmdrop', 'swarmdrop'], ['http', 'nginx progressive']]) {
    const ttff = spread(r, (x) => x[side].timeToFirstFrameSeconds);
    rows.push([label, shown(ttff, 2), shown(spread(r, (x) => x[side].stalls), 1), shown(spread(r, (x) => x[side].stalledSeconds), 2)]);
    plotRows.push({ group: 'time to first frame', series: label, s: ttff });
  }
  text += table(['source', 'time to first frame s', 'stalls', 'stalled s'], rows);
  text += `\n\n${await barPlot(plots, 'stream', 'Time to first frame', 'seconds', plotRows)}\n`;
  return text;
}

async function proximitySection(runs, failures, plots, commands) {
  const r = runs.proximity;
  let text = `## 5. Proximity on and off

Two sites, each behind its own router with its own public address, operator and country (the
fixture location database), fast inside, ${r ? `${r[0].siteMbit} Mbit/s` : 'a capped link'} between each site and the internet: the
origin and two receivers in site A, three receivers in site B. One file shared twice in the same
lab, with the tracker ranking peers by proximity (the default) and with \`rank_peers = false\`: the
copies of the file that came into site B (every byte on its router's wan side, relayed or direct),
the copies the origin uploaded, and the time until all five had it. The test suite's
\`tests/lab/proximity.test.mjs\` asserts fewer than 1.3 copies with ranking on.

\`${commands.proximity}\`

`;
  if (!r) return text + notRun('proximity', failures);
  const rows = [];
  const plotRows = [];
  for (const side of ['on', 'off']) {
    const copies = spread(r, (x) => x[side].copiesIntoB);
    rows.push([`ranking ${side}`, shown(copies, 2), shown(spread(r, (x) => x[side].originCopies), 2), shown(spread(r, (x) => x[side].seconds))]);
    plotRows.push({ group: 'copies into site B', series: `ranking ${side}`, s: copies });
  }
  text += table(['tracker', 'copies into site B', 'origin uploaded, copies', 'all done, s'], rows);
  text += `\n\nOff / on, each run's own: ${shown(spread(r, (x) => x.off.copiesIntoB / x.on.copiesIntoB), 2)} times the bytes into site B.\n`;
  text += `\n${await barPlot(plots, 'proximity', 'Copies of the file that came into site B', 'copies', plotRows)}\n`;
  return text;
}

async function sizeSection(runs, failures, plots, commands) {
  let text = `## 6. Size: time to a link, memory, and the media remux

\`${commands.large}\`  
\`${commands.media}\`

`;
  const large = runs.large;
  if (large) {
    const sizes = large[0].linkSeconds.map((row) => row.mib);
    text += table(['file MiB', 'picking the file to its link, s'], sizes.map((mib) => [mib, shown(spread(large, (x) => x.linkSeconds.find((row) => row.mib === mib).seconds), 2)]));
    const t = (field) => spread(large, (x) => x.transfer[field]);
    text += `\n\nA ${large[0].transfer.mib} MiB transfer: ${shown(t('MBps'))} MB/s; peak memory (all the browser's processes), receiver ${shown(t('receiverPeakMiB'), 0)} MiB, sender ${shown(t('senderPeakMiB'), 0)} MiB.\n\n`;
  } else {
    text += `${notRun('large', failures)}\n\n`;
  }
  const media = runs.media;
  if (media) {
    const ours = spread(media, (x) => x.remuxMBps);
    const ffmpeg = spread(media, (x) => x.ffmpegMBps);
    text += table(['remux to fragmented MP4', 'MB/s'], [['swarmdrop-probe --remux', shown(ours)], ['ffmpeg -c copy', shown(ffmpeg)], ['ratio', shown(spread(media, (x) => x.ratio), 2)]]);
    text += `\n\nPublishing the file to its first frame in a browser: ${shown(spread(media, (x) => x.publishToFirstFrameSeconds), 1)} s.\n`;
    text += `\n${await barPlot(plots, 'remux', 'Remux throughput', 'MB/s', [{ group: `${media[0].mib} MiB`, series: 'swarmdrop-probe', s: ours }, { group: `${media[0].mib} MiB`, series: 'ffmpeg -c copy', s: ffmpeg }])}\n`;
  } else {
    text += notRun('media', failures);
  }
  return text;
}

async function browsersSection(runs, failures, plots, commands) {
  const r = runs.browsers;
  let text = `## 7. Chromium and Firefox

Debian's Chromium and Firefox ESR, each pairing as sender and receiver of one file on an unshaped
loopback (from opening the link to the file saved by the receiver's browser), and each as the viewer
of a video from a Chromium sender against nginx's progressive download of the same file, on a
loopback shaped to 1.5 times the video's bitrate${r ? ` (${r[0].stream.mbit.toFixed(2)} Mbit/s, ${r[0].stream.videoSeconds.toFixed(0)} s of 720p)` : ''}.

\`${commands.browsers}\`

`;
  if (!r) return text + notRun('browsers', failures);
  const name = { chromium: 'Chromium', firefox: 'Firefox' };
  const pairs = r[0].transfer.map(({ sender, receiver }) => [sender, receiver]);
  const at = (sender, receiver, field) => spread(r, (x) => x.transfer.find((row) => row.sender === sender && row.receiver === receiver)[field]);
  text += table(['sender', 'receiver', `${r[0].mib} MiB, s`, 'MB/s'], pairs.map(([sender, receiver]) => [name[sender], name[receiver], shown(at(sender, receiver, 'seconds')), shown(at(sender, receiver, 'MBps'))]));
  const plotRows = [];
  const rows = [];
  for (const viewer of Object.keys(r[0].stream.viewers)) {
    const side = (which, field) => spread(r, (x) => x.stream.viewers[viewer][which][field]);
    const ours = side('swarmdrop', 'timeToFirstFrameSeconds');
    const http = side('http', 'timeToFirstFrameSeconds');
    rows.push([name[viewer], shown(ours, 2), shown(http, 2), shown(spread(r, (x) => x.stream.viewers[viewer].swarmdrop.timeToFirstFrameSeconds / x.stream.viewers[viewer].http.timeToFirstFrameSeconds), 1),
      `${shown(side('swarmdrop', 'stalls'), 0)} / ${shown(side('http', 'stalls'), 0)}`]);
    plotRows.push({ group: name[viewer], series: 'swarmdrop', s: ours }, { group: name[viewer], series: 'nginx progressive', s: http });
  }
  text += `\n\n${table(['viewer', 'first frame, swarmdrop s', 'nginx s', 'swarmdrop / nginx', 'stalls swarmdrop / nginx'], rows)}`;
  text += `\n\n${await barPlot(plots, 'browsers-stream', 'Time to first frame by viewer', 'seconds', plotRows)}\n`;
  return text;
}

// What the figures mean for someone choosing how to move a file: sentences from the medians of
// what ran (a comparison that did not run says nothing).
function findings(runs) {
  const said = [];
  const m = (id, pick) => spread(runs[id], pick)?.median;
  const cloudRows = runs.cloud?.[0].rows ?? [];
  for (const row of cloudRows) {
    const at = (pick) => m('cloud', (x) => pick(x.rows.find((r) => r.receivers === row.receivers)));
    const p2p = at((r) => r.p2p.seconds);
    const cloud = at((r) => r.cloud.seconds);
    const speedup = at((r) => r.cloud.seconds / r.p2p.seconds); // each run's, then the median
    said.push(`With ${row.receivers} receiver${row.receivers > 1 ? 's' : ''}, everyone had the file ${Math.abs(speedup - 1) < 0.05 ? 'about as soon peer to peer as' : speedup >= 1 ? `${speedup.toFixed(1)} times sooner peer to peer than` : `${(1 / speedup).toFixed(1)} times later peer to peer than`} by uploading it to a server and downloading it from there (${p2p.toFixed(1)} s against ${cloud.toFixed(1)} s), and ${(at((r) => r.p2p.serverBytes) / 1e6).toFixed(1)} MB went through a server instead of ${(at((r) => r.cloud.serverBytes) / 1e6).toFixed(0)} MB.`);
  }
  if (cloudRows.length > 0) {
    said.push('The cloud way pays for the whole upload before anyone can download, and every download then crosses the server\'s link; peer to peer the receivers start at once and serve each other, as long as the sender stays online until one copy is out.');
  }
  const shaped = m('transfer-shaped', (x) => x.ratio);
  const unshaped = m('transfer', (x) => x.ratio);
  if (shaped !== undefined || unshaped !== undefined) {
    said.push(`Directly between two browsers, swarmdrop moved the file at ${shaped !== undefined ? `${shaped.toFixed(2)} of a bare data channel's speed when the link was the limit` : ''}${shaped !== undefined && unshaped !== undefined ? ', and at ' : ''}${unshaped !== undefined ? `${unshaped.toFixed(2)} of it when both browsers shared this machine's cores (the encryption, hashing and disk work then take CPU the data channel would use)` : ''}. Which one a user sees depends on whether their link or their CPU runs out first.`);
  }
  const relay = m('relay', (x) => x.oneToOne.speedup);
  if (relay !== undefined) {
    said.push(`When two browsers cannot reach each other (symmetric NATs), the plugin's relay carried a transfer at ${relay.toFixed(2)} of TURN's speed, with no TURN server to run.`);
  }
  const swarm = runs.swarm?.[0].rows;
  if (swarm) {
    const most = swarm[swarm.length - 1].receivers;
    const at = (side) => m('swarm', (x) => x.rows.find((r) => r.receivers === most)[side]?.originCopies);
    const alone = at('alone');
    said.push(`With ${most} receivers the origin uploaded ${at('swarmdrop').toFixed(2)} copies of the file with swarmdrop${at('webtorrent') !== undefined ? `, ${at('webtorrent').toFixed(2)} with WebTorrent` : ''}${alone !== undefined ? ` and ${alone.toFixed(2)} serving everyone itself` : ''}: a sender's uplink is what peer to peer spares.`);
  }
  const ours = m('stream', (x) => x.swarmdrop.timeToFirstFrameSeconds);
  const http = m('stream', (x) => x.http.timeToFirstFrameSeconds);
  if (ours !== undefined && http !== undefined) {
    said.push(`A video started playing ${ours.toFixed(1)} s after its link was opened, against ${http.toFixed(1)} s from a web server over the same link (${m('stream', (x) => x.swarmdrop.stalls).toFixed(0)} and ${m('stream', (x) => x.http.stalls).toFixed(0)} stalls).`);
  }
  const near = m('proximity', (x) => x.on.copiesIntoB);
  const far = m('proximity', (x) => x.off.copiesIntoB);
  if (near !== undefined && far !== undefined) {
    const spared = near < 0.9 * far;
    said.push(`With peers ranked by proximity, ${near.toFixed(2)} copies of the file came into the second site's network for its three receivers, against ${far.toFixed(2)} with the ranking off${spared ? ': receivers fetch from their own network first, which spares the links between networks (an office\'s or an operator\'s), not only the sender\'s' : ': no saving in this run'}.`);
  }
  const viewers = runs.browsers?.[0].stream.viewers;
  if (viewers) {
    const ttff = (viewer, side) => m('browsers', (x) => x.stream.viewers[viewer][side].timeToFirstFrameSeconds);
    const slowest = (field) => Math.min(...runs.browsers[0].transfer.map((row) => m('browsers', (x) => x.transfer.find((t) => t.sender === row.sender && t.receiver === row.receiver)[field])));
    said.push(`Firefox and Chromium send and receive each other's files (the slowest pairing at ${slowest('MBps').toFixed(1)} MB/s on this machine); a video's first frame came after ${ttff('chromium', 'swarmdrop').toFixed(1)} s in Chromium and ${ttff('firefox', 'swarmdrop').toFixed(1)} s in Firefox (nginx: ${ttff('chromium', 'http').toFixed(1)} and ${ttff('firefox', 'http').toFixed(1)} s).`);
  }
  return said.length === 0 ? '_Nothing ran._' : said.map((s) => `- ${s}`).join('\n');
}

// ---------------------------------------------------------------------------------------------

function versions() {
  // The first line a command prints (some print their version on stderr, some exit 1 after it).
  const first = (command, args) => {
    const { stdout, stderr } = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return `${stdout ?? ''}${stderr ?? ''}`.split('\n')[0].trim() || `${command}: not found`;
  };
  return [
    ['CPU', `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['system', `${first('uname', ['-sr'])}, Debian ${readFileSync('/etc/debian_version', 'utf8').trim()}`],
    ['Chromium', first('chromium', ['--version'])],
    ['Firefox', first('firefox-esr', ['--version'])],
    ['Janus', first('janus', ['--version'])],
    ['nginx', first('nginx', ['-v'])],
    ['coturn', first('turnserver', ['--version'])],
    ['FFmpeg', first('ffmpeg', ['-version'])],
    ['Node.js', process.version],
    ['swarmdrop', describeCommit()],
  ];
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const plotDir = join(options.out, 'report');
  const logDir = join(plotDir, 'logs');
  for (const plot of ['cloud', 'paths', 'swarm-copies', 'swarm-seconds', 'stream', 'proximity', 'remux', 'browsers-stream']) rmSync(join(plotDir, `${plot}.svg`), { force: true });
  if (!options.only) rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const plots = { dir: plotDir, link: 'report', made: [] };
  const runs = {};
  const failures = {};
  const reused = [];
  const commands = Object.fromEntries(STEPS.map((step) => [step.id, commandOf(step, options)]));
  const machine = versions(); // before the runs: the commit they ran
  const started = Date.now();
  for (const step of STEPS) {
    if (options.only && !options.only.includes(step.id)) {
      const earlier = earlierResults(step, options, logDir);
      if (earlier) {
        runs[step.id] = earlier.results;
        reused.push(`${step.id} (${earlier.at.slice(0, 16).replace('T', ' ')} UTC, commit ${earlier.commit})`);
      }
      continue;
    }
    const results = [];
    for (let run = 1; run <= options.runs; run++) {
      process.stderr.write(`${step.id}: run ${run} of ${options.runs} (${commands[step.id]})\n`);
      try {
        results.push(await runStep(step, options, run, logDir));
      } catch (error) {
        failures[step.id] = error.message;
        process.stderr.write(`${error.message}\n`);
        break;
      }
    }
    if (!failures[step.id]) runs[step.id] = results;
  }
  const sections = [
    await cloudSection(runs, failures, plots, commands),
    await pathsSection(runs, failures, plots, commands),
    await swarmSection(runs, failures, plots, commands),
    await streamSection(runs, failures, plots, commands),
    await proximitySection(runs, failures, plots, commands),
    await sizeSection(runs, failures, plots, commands),
    await browsersSection(runs, failures, plots, commands),
  ];
  const minutes = ((Date.now() - started) / 60000).toFixed(0);
  const report = `# swarmdrop: the benchmark report

Written by \`${['node bench/report.mjs', ...process.argv.slice(2)].join(' ')}\` on ${new Date().toISOString().slice(0, 10)} in ${minutes} min${options.smoke ? ' (a smoke run: tiny sizes, one run; the figures mean nothing)' : ''}.
Every figure is the median of ${options.runs} run${options.runs > 1 ? 's' : ''} with the min–max in brackets;
both sides of each comparison come from the same run. Run it again with the same command; each
section gives the bench command behind it.${reused.length > 0 ? ` ${options.only.length > 0 ? `Run again for this report: ${options.only.join(', ')}; read` : 'Read'} back from the earlier runs' results in report/logs/: ${reused.join(', ')}.` : ''}

${table(['', ''], machine)}

## What the figures mean

${findings(runs)}

**When peer to peer loses.** A receiver waits for a connection before the first byte (signalling,
ICE and DTLS: about a second here, more across real networks), so for a small file a server that
already holds it answers sooner. The sender must stay online until one receiver holds each piece;
after an upload the cloud needs nobody. When both ends sit behind symmetric NATs no direct link
opens and the bytes go through the plugin's relay (section 2), through a server as in the cloud
way, though nothing is stored there. With a single receiver the sender's uplink is the limit,
where a download from a data centre has the server's link; the swarm only pays off once receivers
can serve each other (sections 1 and 3). A video starts later than from a web server (section 4).

**Limits.** One machine: every browser, Janus, nginx and coturn share its cores, so where a
transfer keeps them busy its speed says as much about CPU as about the network. Links are network
namespaces over veth pairs shaped with tbf: bandwidth only, no added delay or loss (this kernel
has no netem). Browsers are headless: Chromium everywhere, Firefox ESR too in section 7.

${sections.join('\n\n')}
`;
  writeFileSync(join(options.out, 'report.md'), report);
  process.stderr.write(`report: ${relative(process.cwd(), join(options.out, 'report.md'))}, ${plots.made.length} plots (${plots.made.join(', ')}), ${Object.keys(failures).length} steps failed\n`);
  return Object.keys(failures).length === 0 ? 0 : 1;
}

main().then((status) => process.exit(status), (error) => {
  console.error(`report: ${error.message}`);
  process.exit(2);
});
