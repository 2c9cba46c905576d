// Shared by the end-to-end tests and the benchmarks: starts the real stack (scripts/serve.sh:
// Janus with the plugin, nginx with the built web app), launches Debian's Chromium as separate
// processes through playwright-core (and Debian's Firefox ESR through puppeteer-core), and makes
// test files.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import WebSocket from 'ws';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const chromiumPath = process.env.SWARMDROP_CHROMIUM || '/usr/bin/chromium';
const firefoxPath = process.env.SWARMDROP_FIREFOX || '/usr/bin/firefox-esr';
const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Host candidates as plain addresses: nobody resolves mDNS names here.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
];

export function tempDir(prefix = 'swarmdrop-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

// A folder of its own inside `dir`, e.g. for what one receiver saves: a download saved over the
// file being shared would change it under the sender, whose browser then refuses to read it.
export function subDir(dir, name) {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// Starts Janus + nginx on free ports. `pluginJcfg` overrides the plugin's limits file. `netns`:
// run them in that network namespace, the web app on `host` (an address of that namespace).
// media: a folder the operator may publish from (scripts/serve.sh makes the admin key, adminKey).
// env: more of scripts/serve.sh's settings, e.g. {SWARMDROP_ORIGINS: 'https://a.example'}.
// adminApi: Janus's Admin API on a free local port (adminUrl; its secret is adminKey).
// nodes: that many Janus nodes (ids a, b, ...) behind nginx and a nats-server, each on a free
// port, nginx pinning a WebSocket by its cookie (pinBrowser); the result has `nodes` and `engine`
// (clusterControls), and janusLog and janusMemory are node a's.
export async function startServer({ pluginJcfg, netns, host, media, adminApi = false, nodes = null, env: settings = {} } = {}) {
  const [httpPort, wsPort] = [await freePort(), await freePort()];
  const cluster = nodes ? await clusterPorts(nodes) : null;
  if (cluster) settings = { ...cluster.env, ...settings };
  const janusDir = cluster ? 'node-a' : '';
  const adminPort = adminApi ? await freePort() : null;
  if (adminPort) settings = { ...settings, SWARMDROP_ADMIN_WS_PORT: String(adminPort) };
  const stateDir = tempDir('swarmdrop-state-');
  const env = {
    ...process.env,
    SWARMDROP_HTTP_PORT: String(httpPort),
    SWARMDROP_WS_PORT: String(wsPort),
    SWARMDROP_STATE_DIR: stateDir,
    ...settings,
  };
  if (pluginJcfg) env.SWARMDROP_PLUGIN_JCFG = pluginJcfg;
  if (host) env.SWARMDROP_HTTP_BIND = host;
  if (media) env.SWARMDROP_MEDIA_FOLDER = media;
  const serve = join(repoRoot, 'scripts/serve.sh');
  const [command, args] = netns ? ['ip', ['netns', 'exec', netns, serve]] : [serve, []];
  // scripts/serve.sh until it says it is running: {child, exited}.
  const launch = async () => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
    await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
      const onData = (chunk) => {
        output += chunk;
        if (output.includes('swarmdrop is running')) { clearTimeout(timer); res(); }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      exited.then(({ code }) => { clearTimeout(timer); rej(new Error(`server exited (${code}):\n${output}`)); });
    });
    return { child, exited };
  };
  let running = await launch();
  const isRunning = () => running.child.exitCode === null && running.child.signalCode === null;
  const stopServe = async () => {
    if (isRunning()) {
      running.child.kill('SIGTERM');
      await running.exited;
    }
  };
  const origin = `${host ?? 'localhost'}:${httpPort}`;
  return {
    url: `http://${origin}`,
    wsUrl: `ws://${origin}/janus`,
    adminUrl: adminPort ? `ws://127.0.0.1:${adminPort}` : null,
    stateDir,
    // The operator's key scripts/serve.sh made (swarmdrop-publish, swarmdrop-stats).
    adminKey: readFileSync(join(stateDir, 'admin_key'), 'utf8').trim(),
    // Janus's own memory (its pid file is written by scripts/serve.sh).
    janusMemory: () => treeMemory(Number(readFileSync(join(stateDir, janusDir, 'janus.pid'), 'utf8'))),
    janusLog: join(stateDir, janusDir, 'janus.log'),
    alive: isRunning,
    ...(cluster ? clusterControls(cluster, stateDir, netns) : {}),
    // Janus and nginx stop and start again on the same ports, as after a crash or an upgrade:
    // the plugin forgets every share.
    async restart() {
      await stopServe();
      running = await launch();
    },
    async stop() {
      await stopServe();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

// Free ports for startServer({nodes}): each node's WebSocket and nats-server's, and the settings
// of scripts/serve.sh that use them.
async function clusterPorts(nodes) {
  const ids = 'abcdefghijklmnopqrstuvwxyz'.slice(0, nodes).split('');
  const ports = [];
  for (let i = 0; i < nodes; i += 1) ports.push(await freePort());
  const natsPort = await freePort();
  const env = {
    SWARMDROP_NODES: String(nodes),
    SWARMDROP_WS_PORTS: ports.join(' '),
    SWARMDROP_NATS_PORT: String(natsPort),
    SWARMDROP_NODE_COOKIE: '1',
  };
  return { ids, ports, natsPort, env };
}

// startServer({nodes})'s nodes and engine. scripts/serve.sh starts each of them with a script of
// its own (node-<id>/start.sh, nats-start.sh) and outlives them, so a test can kill one and start
// it again: nodes [{id, wsUrl (its own port, not through nginx), log, pid(), kill(signal),
// start()}], engine {url, pid(), kill(signal), start()}. kill (SIGKILL unless told) resolves once
// the process is gone, start once its port accepts connections.
function clusterControls({ ids, ports, natsPort }, stateDir, netns) {
  const inNetns = (command) => (netns ? ['ip', ['netns', 'exec', netns, command]] : [command, []]);
  const daemon = (dir, pidName, script, port) => {
    const pid = () => Number(readFileSync(join(stateDir, dir, pidName), 'utf8'));
    return {
      pid,
      async kill(signal = 'SIGKILL') {
        const target = pid();
        process.kill(target, signal);
        await until(() => !processAlive(target), `process ${target} (${dir || 'nats-server'}) did not end`);
      },
      async start() {
        execFileSync(...inNetns(join(stateDir, dir, script)));
        await until(() => portOpen(port, netns), `nothing listens on port ${port} after ${script}`);
      },
    };
  };
  return {
    nodes: ids.map((id, i) => ({
      id,
      wsUrl: `ws://127.0.0.1:${ports[i]}`,
      log: join(stateDir, `node-${id}`, 'janus.log'),
      ...daemon(`node-${id}`, 'janus.pid', 'start.sh', ports[i]),
    })),
    engine: { url: `nats://127.0.0.1:${natsPort}`, ...daemon('', 'nats.pid', 'nats-start.sh', natsPort) },
  };
}

// Is the process there (a zombie is not: nobody may reap a killed node, started by a script that
// has ended)?
function processAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// Does 127.0.0.1:port (in that network namespace) accept a connection?
async function portOpen(port, netns) {
  if (netns) {
    try {
      execFileSync('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); res(true); });
    socket.once('error', () => res(false));
  });
}

// Polls `check` (may be async) every 100 ms until it holds; fails with `message` after `timeout`.
async function until(check, message, timeout = 30_000) {
  for (const deadline = Date.now() + timeout; !(await check()); await new Promise((res) => setTimeout(res, 100))) {
    if (Date.now() > deadline) throw new Error(message);
  }
}

// Makes a browser (launchBrowser's, or a playwright context) send the cookie with which nginx of
// startServer({nodes}) sends its WebSockets to node `id` first, to the others while it is down.
// A cookie is the host's whatever the port: `url` is the server's (server.url).
export async function pinBrowser(browserOrContext, id, url = 'http://localhost/') {
  const context = browserOrContext.context ?? browserOrContext;
  await context.addCookies([{ name: 'swarmdrop_node', value: id, url: new URL('/', url).href }]);
}

// The pids of a process and of all its descendants alive now, the root first.
export function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) || []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [];
  for (const todo = [rootPid]; todo.length;) {
    const pid = todo.shift();
    tree.push(pid);
    todo.push(...(children.get(pid) || []));
  }
  return tree;
}

// Memory (bytes) of a process and all its descendants: the sum of their proportional set sizes,
// so that pages shared between Chromium's processes count once, not once per process.
export function treeMemory(rootPid) {
  let total = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const pss = /^Pss:\s+([0-9]+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      total += pss ? Number(pss[1]) * 1024 : 0;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

// The pid of the Chromium browser process started with this instance tag.
function chromiumPid(tag) {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(`--swarmdrop-instance=${tag}`) && !cmdline.some((a) => a.startsWith('--type='))) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}

// One server and one scratch folder shared by the tests of a file, removed after them:
// fixture.server and fixture.dir are set once the file's `before` hook has run.
export function serverFixture() {
  const fixture = { server: null, dir: null };
  before(async () => {
    fixture.server = await startServer();
    fixture.dir = tempDir();
  });
  after(async () => {
    await fixture.server?.stop();
    if (fixture.dir) rmSync(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}

// One Chromium process per call, as two people on two machines would have, each with a profile
// of its own on disk (as a person's is: an incognito context would keep the piece store's
// files in memory). memory() is the memory of the whole browser (all its processes); an unknown
// switch tags the instance to find it. `testHooks` becomes globalThis.swarmdropTestHooks in every
// page before its scripts run.
//
// netns: run Chromium in that network namespace (the NAT lab); serverUrl: an http origin other
// than localhost that the page must treat as secure (WebCrypto and OPFS need a secure context).
export async function launchBrowser({ testHooks, netns, serverUrl } = {}) {
  const tag = randomBytes(6).toString('hex');
  const args = [...chromiumArgs, `--swarmdrop-instance=${tag}`];
  if (serverUrl) args.push(`--unsafely-treat-insecure-origin-as-secure=${serverUrl}`);
  const profile = tempDir('swarmdrop-profile-');
  let executablePath = chromiumPath;
  if (netns) {
    executablePath = join(profile, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${netns} ${chromiumPath} "$@"\n`, { mode: 0o755 });
  }
  const context = await chromium.launchPersistentContext(join(profile, 'data'), {
    executablePath, headless: true, args, acceptDownloads: true,
  });
  if (testHooks) await context.addInitScript((hooks) => { globalThis.swarmdropTestHooks = hooks; }, testHooks);
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  // Whatever a page or worker of the app was refused by the Content-Security-Policy nginx sends
  // fails the test when the browser closes: the policy must allow all the app does.
  const refused = [];
  context.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  const pid = chromiumPid(tag);
  return {
    context,
    page,
    pid, // the browser process's (its renderers and helpers are its descendants: processTree)
    memory: () => (pid ? treeMemory(pid) : 0),
    cspRefused: refused,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (refused.length) throw new Error(`the Content-Security-Policy refused: ${refused.join(' | ')}`);
    },
  };
}

// Debian's Firefox ESR, headless, driven by puppeteer-core over WebDriver BiDi (playwright-core
// drives only its own patched Firefox; puppeteer-core never downloads a browser), with a fresh
// profile. Same shape as launchBrowser: page is a small playwright-like face of puppeteer's page
// (what the helpers of this file call), so shareFile, waitForState, playingPast, startPlayer and
// withStates take either; raw is puppeteer's own page. With `log` (e.g. console.error), what
// Firefox prints goes there line by line, the console of its pages and service workers included;
// `prefs`: more Firefox preferences.
export async function launchFirefox({ testHooks, log = null, prefs = {} } = {}) {
  const profile = tempDir('swarmdrop-firefox-');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    userDataDir: join(profile, 'data'),
    extraPrefsFirefox: {
      // WebRTC between local processes: loopback candidates, plain host addresses (no mDNS).
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      // Service workers, also on http://localhost.
      'dom.serviceWorkers.enabled': true,
      'dom.serviceWorkers.testing.enabled': true,
      // Plays without a click, like Chromium's headless mode.
      'media.autoplay.default': 0,
      // A download (the saved file) goes to the profile without asking.
      'browser.download.folderList': 2,
      'browser.download.dir': join(profile, 'downloads'),
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
      // The console of pages and workers on stdout (for `log`).
      'devtools.console.stdout.content': Boolean(log),
      ...prefs,
    },
  });
  const raw = (await browser.pages())[0] ?? await browser.newPage();
  if (testHooks) await raw.evaluateOnNewDocument((hooks) => { globalThis.swarmdropTestHooks = hooks; }, testHooks);
  // Firefox reports every streamed response the player drops (a seek) as a failed interception
  // with an empty URL (its body copy ends aborted: FetchEventOpChild's BodyComplete): expected.
  raw.on('pageerror', (err) => {
    if (!err.message.startsWith('Failed to load ‘’. A ServiceWorker intercepted the request')) console.error(`[firefox page error] ${err.message}`);
  });
  if (log) {
    for (const output of [browser.process().stdout, browser.process().stderr]) {
      createInterface({ input: output }).on('line', (line) => log(`[firefox] ${line}`));
    }
  }
  const page = {
    goto: (url) => raw.goto(url),
    evaluate: (fn, arg) => raw.evaluate(fn, arg),
    // playwright's (fn, arg, {timeout, polling}); puppeteer's (fn, {timeout, polling}, ...args).
    waitForFunction: (fn, arg, { timeout = 30_000, polling = 'raf' } = {}) => raw.waitForFunction(fn, { timeout, polling }, arg),
    // One path or several, as playwright takes them.
    setInputFiles: async (selector, paths) => (await raw.waitForSelector(selector)).uploadFile(...[paths].flat()),
    locator: (selector) => ({
      waitFor: ({ state = 'visible', timeout = 30_000 } = {}) => raw.waitForSelector(selector, { visible: state === 'visible', timeout }),
      getAttribute: (name) => raw.$eval(selector, (element, n) => element.getAttribute(n), name),
      click: async () => (await raw.waitForSelector(selector, { visible: true })).click(),
    }),
  };
  return {
    browser,
    raw,
    page,
    context: { addInitScript: (fn, arg) => raw.evaluateOnNewDocument(fn, arg) },
    memory: () => treeMemory(browser.process()?.pid ?? 0),
    // The path of the download `name` once Firefox has saved it into the profile (no dialog: the
    // prefs above), finished (it writes `name.part`, then renames it), with `size` bytes (null:
    // any but none); polls.
    async downloaded(name, size = null, { timeout = 120_000 } = {}) {
      const downloads = join(profile, 'downloads');
      const path = join(downloads, name);
      for (const deadline = Date.now() + timeout; ; await new Promise((res) => setTimeout(res, 100))) {
        const saved = existsSync(path) && !existsSync(`${path}.part`) && statSync(path).size;
        const done = size === null ? saved > 0 : saved === size;
        if (done) return path;
        if (Date.now() > deadline) throw new Error(`Firefox did not save ${name} (${size} bytes) in ${timeout} ms: ${existsSync(downloads) ? readdirSync(downloads).join(', ') : 'no downloads'}`);
      }
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Makes the browser's pages count the RTCPeerConnections they create (peerConnectionsMade).
// relayOnly: never a direct link; unreachable: remote ICE candidates are dropped, so direct links
// never open (the relay's candidates come in the server's SDP, not through addIceCandidate).
export async function watchPeerConnections(browser, { relayOnly = false, unreachable = false } = {}) {
  await browser.context.addInitScript(({ only, blocked }) => {
    if (only) globalThis.swarmdropRelayOnly = true;
    if (blocked) RTCPeerConnection.prototype.addIceCandidate = async () => {};
    const Native = RTCPeerConnection;
    globalThis.peerConnectionsMade = 0;
    globalThis.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        globalThis.peerConnectionsMade += 1;
      }
    };
  }, { only: relayOnly, blocked: unreachable });
  return browser;
}

// Closes every browser even if one close fails.
export async function closeAll(browsers) {
  await Promise.allSettled(browsers.map((browser) => browser.close()));
}

// A file of `size` random bytes; resolves to its path and SHA-256 (hex).
export async function randomFile(dir, name, size) {
  const path = join(dir, name);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = 1 << 20;
  for (let written = 0; written < size; written += block) {
    const bytes = randomBytes(Math.min(block, size - written));
    hash.update(bytes);
    if (!out.write(bytes)) await new Promise((res) => out.once('drain', res));
  }
  await new Promise((res, rej) => out.end((err) => (err ? rej(err) : res())));
  return { path, sha256: hash.digest('hex'), size };
}

// A 3 s silent H.264 clip, 320x180, its index first (ffmpeg from Debian); returns its path.
export function shortClip(dir, name) {
  const path = join(dir, name);
  execFileSync('ffmpeg', [
    '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '3',
    '-c:v', 'libx264', '-preset', 'veryfast', '-movflags', 'faststart', path,
  ]);
  return path;
}

// Python's zipfile, an independent reader: {path: sha256} of every entry of the ZIP archive at
// `path`, after testzip().
export function zipContents(path) {
  const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, path]).toString());
}

export async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

// A well-formed link secret (docs/protocol.md part 3) that belongs to no share: 16 random bytes
// and a fresh Ed25519 public key, base64url.
export function randomLinkSecret() {
  const publicKey = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x, 'base64url');
  return Buffer.concat([randomBytes(16), publicKey]).toString('base64url');
}

// Sender side: opens the app, picks the file, returns the share link the page shows
// (`${url}/s/<share id>#<link secret>`).
export async function shareFile(page, url, filePath) {
  await page.goto(url);
  await page.setInputFiles('#file-input', filePath);
  const link = page.locator('#share-link');
  await link.waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(() => /\/s\/[0-9a-f]{16}#[A-Za-z0-9_-]{64}$/.test(document.querySelector('#share-link')?.href || ''));
  return link.getAttribute('href');
}

// The page's engine state (window.swarmdrop) once `predicate(state, arg)` holds in the page
// (`arg`: JSON); polls, no sleeps. The check is a function, not a string: the driver compiles a
// function itself, a string it would eval in the page, which the app's CSP forbids.
export async function waitForState(page, predicate, arg = null, { timeout = 120_000 } = {}) {
  const check = new Function('arg', `return window.swarmdrop && (${predicate})(window.swarmdrop, arg);`);
  const handle = await page.waitForFunction(check, arg, { timeout, polling: 100 });
  await handle.dispose();
  return page.evaluate(() => window.swarmdrop);
}

// Waits until the page's player is past `seconds` and returns what the state said at that very
// moment (the snapshot is taken inside the same predicate): {currentTime, bytes, total, buffered}.
export async function playingPast(page, seconds, timeout) {
  await waitForState(page, (s, at) => {
    const video = document.querySelector('#player');
    if (!(s.player && s.player.currentTime > at && video.currentTime > at)) return false;
    window.playedAt = { currentTime: s.player.currentTime, bytes: s.bytes, total: s.total, buffered: s.player.buffered };
    return true;
  }, seconds, { timeout });
  return page.evaluate(() => window.playedAt);
}

// The page's video plays past 3 s, then, after a seek to 30 s, past 30.5 s, each before the whole
// file is there (the test fails otherwise); resolves to both playingPast snapshots.
export async function playsWhileDownloading(t, page, { timeout = 60_000 } = {}) {
  const early = await playingPast(page, 3, timeout);
  t.diagnostic(`played past 3 s with ${early.bytes} of ${early.total} bytes`);
  assert.ok(early.bytes < early.total, `played past 3 s only once the whole file was there (${early.bytes} bytes)`);
  await page.evaluate(() => { document.querySelector('#player').currentTime = 30; });
  const late = await playingPast(page, 30.5, timeout);
  t.diagnostic(`played past 30.5 s with ${late.bytes} of ${late.total} bytes; buffered ${JSON.stringify(late.buffered)}`);
  assert.ok(late.bytes < late.total, `played past 30.5 s only once the whole file was there (${late.bytes} bytes)`);
  return { early, late };
}

// Starts the page's player muted, so that it may play without a click.
export async function startPlayer(page) {
  const video = page.locator('#player');
  await video.waitFor({ state: 'visible', timeout: 60_000 });
  await page.evaluate(() => {
    const player = document.querySelector('#player');
    player.muted = true;
    player.play().catch(() => {});
  });
}

// Runs `body`; if it fails, the engine state (window.swarmdrop) of every page goes to the test's
// diagnostics, and with `server` (a startServer() result) the end of the Janus log.
// browsers: {name: launchBrowser() result}.
export async function withStates(t, browsers, body, { server } = {}) {
  try {
    await body();
  } catch (error) {
    for (const [name, browser] of Object.entries(browsers)) {
      const state = await browser.page.evaluate(() => window.swarmdrop).catch((e) => e.message);
      t.diagnostic(`${name}: ${JSON.stringify(state)}`);
    }
    if (server) t.diagnostic(`janus log:\n${readFileSync(server.janusLog, 'utf8').split('\n').slice(-40).join('\n')}`);
    throw error;
  }
}

// Receiver side: opens the link and resolves once the browser saved the file, with its path.
export async function receiveFile(page, link, saveDir, { timeout = 300_000 } = {}) {
  const downloadEvent = page.waitForEvent('download', { timeout });
  await page.goto(link);
  const download = await downloadEvent;
  const path = join(saveDir, download.suggestedFilename());
  await download.saveAs(path);
  return { path, name: download.suggestedFilename() };
}

// A page with its own Janus session that creates (share null) or joins a share, asks for the
// relay, answers the plugin's offer and waits for "ready". Leaves window.relay in the page:
// {dc, texts, frames} (the plugin's text messages, parsed, and the binary frames it delivered).
export async function relayMember(server, browsers, share = null) {
  const browser = await launchBrowser();
  browsers.push(browser);
  await browser.page.goto(server.url);
  const joined = await browser.page.evaluate(async (shareId) => {
    const ws = new WebSocket(`ws://${location.host}/janus`, 'janus-protocol');
    await new Promise((res) => ws.addEventListener('open', res, { once: true }));
    let counter = 0;
    const waiting = new Map();
    ws.addEventListener('message', ({ data }) => {
      const message = JSON.parse(data);
      if (message.janus !== 'ack') waiting.get(message.transaction)?.(message);
    });
    const send = (body) => new Promise((res) => {
      const transaction = String(++counter);
      waiting.set(transaction, res);
      ws.send(JSON.stringify({ ...body, transaction }));
    });
    const session = (await send({ janus: 'create' })).data.id;
    const handle = (await send({ janus: 'attach', session_id: session, plugin: 'janus.plugin.swarmdrop' })).data.id;
    const request = (body, jsep) => send({ janus: 'message', session_id: session, handle_id: handle, body, jsep });
    setInterval(() => send({ janus: 'keepalive', session_id: session }), 20_000);
    const member = (await request(shareId ? { request: 'join', share: shareId } : { request: 'create' })).plugindata.data;
    const offered = await request({ request: 'relay', share: member.share });
    const pc = new RTCPeerConnection();
    await pc.setRemoteDescription(offered.jsep);
    const dc = pc.createDataChannel('sd');
    dc.binaryType = 'arraybuffer';
    const relay = { dc, texts: [], frames: [], window: offered.plugindata.data.window };
    dc.addEventListener('message', ({ data }) => {
      if (typeof data === 'string') relay.texts.push(JSON.parse(data));
      else relay.frames.push(new Uint8Array(data));
    });
    window.relay = relay;
    await pc.setLocalDescription(await pc.createAnswer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((res) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && res()));
    }
    await request({ request: 'relay_answer' }, pc.localDescription.toJSON());
    for (const start = Date.now(); !relay.texts.some((t) => t.t === 'ready'); await new Promise((res) => setTimeout(res, 20))) {
      if (Date.now() - start > 20_000) throw new Error('no "ready" from the relay');
    }
    return { share: member.share, peer: member.peer, ready: relay.texts.find((t) => t.t === 'ready') };
  }, share);
  return { ...joined, page: browser.page };
}

// What janusConnection answers a request whose handle was detached before its answer came.
export const DETACHED_REASON = 'the handle was detached before the answer';

// One WebSocket speaking the Janus API, for protocol-level tests: any number of Janus sessions
// and handles on it (Janus allows that; the plugin counts them per connection).
// options: the ws client's, e.g. {localAddress: '127.0.0.2'} for another client address to nginx.
export async function janusConnection(wsUrl, options = {}) {
  const ws = new WebSocket(wsUrl, 'janus-protocol', options);
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  const waiting = new Map();
  const events = [];
  const watchers = new Set(); // {accepts(msg), resolve}: waiting for an event
  let counter = 0;
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString());
    if (msg.janus === 'ack') return;
    const pending = msg.transaction && waiting.get(msg.transaction);
    if (pending) {
      waiting.delete(msg.transaction);
      pending.resolve(msg);
      return;
    }
    // A handle ended with requests of it still queued in the plugin: Janus answers them never
    // (the plugin drops a destroyed handle's requests), so they end here, as Janus errors.
    if (msg.janus === 'detached') {
      for (const [transaction, request] of waiting) {
        if (request.handle !== msg.sender) continue;
        waiting.delete(transaction);
        request.resolve({ janus: 'error', error: { reason: DETACHED_REASON } });
      }
    }
    events.push(msg);
    for (const watcher of watchers) if (watcher.accepts(msg)) watcher.resolve(msg);
  });
  const send = (body) => new Promise((resolve) => {
    const transaction = `t${++counter}`;
    waiting.set(transaction, { resolve, handle: body.handle_id ?? null });
    ws.send(JSON.stringify({ ...body, transaction }));
  });
  const sessions = [];
  return {
    events,
    watchers,
    send,
    // Sends without waiting for the answer.
    sendOnly: (body) => ws.send(JSON.stringify({ ...body, transaction: `t${++counter}` })),
    // A client that stops reading: the socket is paused, so Janus's writes back up.
    pauseReading: () => ws._socket.pause(),
    async session() {
      const id = (await send({ janus: 'create' })).data.id;
      sessions.push(id);
      return id;
    },
    // A handle on session: {id, session, request(body)}, or null when the plugin refused it.
    // request resolves to the plugin's answer (with the JSEP if any), or to Janus's error.
    async attach(session) {
      const reply = await send({ janus: 'attach', session_id: session, plugin: 'janus.plugin.swarmdrop' });
      if (reply.janus !== 'success') return null;
      const id = reply.data.id;
      return {
        id,
        session,
        request: async (body) => {
          const answer = await send({ janus: 'message', session_id: session, handle_id: id, body });
          if (!answer.plugindata) return answer;
          return answer.jsep ? { ...answer.plugindata.data, jsep: answer.jsep } : answer.plugindata.data;
        },
      };
    },
    keepalive: () => Promise.all(sessions.map((session_id) => send({ janus: 'keepalive', session_id }))),
    close: () => ws.close(),
  };
}

// One Janus session with one handle of the plugin on its own WebSocket.
export async function janusSession(wsUrl) {
  const conn = await janusConnection(wsUrl);
  const { events, watchers } = conn;
  const handle = await conn.attach(await conn.session());
  return {
    events,
    // The first plugin event named `name` (and, if given, accepted by `filter(data)`), received
    // already or within `ms`; resolves to the whole Janus message.
    pluginEvent(name, { filter = () => true, ms = 5000 } = {}) {
      const accepts = (msg) => msg.plugindata?.data?.event === name && filter(msg.plugindata.data);
      const seen = events.find(accepts);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const watcher = {
          accepts,
          resolve: (msg) => { clearTimeout(timer); watchers.delete(watcher); resolve(msg); },
        };
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`no ${name} event in ${ms} ms: ${JSON.stringify(events)}`));
        }, ms);
        watchers.add(watcher);
      });
    },
    // Sends a plugin message; resolves to the plugin's response data, or the Janus error.
    request: handle.request,
    sendRaw: conn.send,
    close: conn.close,
  };
}
