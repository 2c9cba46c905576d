// The sites lab for tests and benchmarks: builds tests/lab/sites.sh's namespaces (one per browser
// host), runs coturn as the lab's STUN server on the wan side, starts Janus and nginx there on
// demand (one server per configuration), launches Chromium on a lab host with that STUN server,
// reads interface counters, and removes it all afterwards, also when the process is interrupted.
// Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, repoRoot, startServer } from '../e2e/harness.mjs';
import { stopOnSignal, WAN_ADDRESS } from './lab.mjs';

const sitesScript = join(repoRoot, 'tests/lab/sites.sh');
export const STUN_URL = `stun:${WAN_ADDRESS}:3478`;

// hosts: sites.sh SPECs (['a=3', 'b=3'], ['pub=9']); siteMbit / hostMbit: the caps of sites.sh.
export async function startSites({ hosts, siteMbit, hostMbit } = {}) {
  const name = `sw${process.pid % 100000}`;
  const run = (...args) => execFileSync(sitesScript, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const rates = [...(siteMbit ? ['--site-mbit', String(siteMbit)] : []), ...(hostMbit ? ['--host-mbit', String(hostMbit)] : [])];
  run('up', name, ...rates, ...hosts);
  const children = new Set(); // processes started in the lab's namespaces
  const servers = new Set();
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.allSettled([...servers].map((server) => server.stop()));
    run('down', name);
  };
  const forgetSignals = stopOnSignal(stop);
  const spawnIn = (node, command, args, options = {}) => {
    const child = spawn('ip', ['netns', 'exec', `${name}-${node}`, command, ...args], { stdio: 'ignore', ...options });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  // STUN only: the browsers learn their public (server-reflexive) address, nothing is relayed.
  spawnIn('wan', 'turnserver', ['-n', '--no-cli', '--no-tls', '--no-dtls', '--stun-only',
    `--listening-ip=${WAN_ADDRESS}`, '--listening-port=3478', '--log-file=stdout']);
  return {
    name,
    exec: (node, ...command) => run('exec', name, node, ...command),
    spawnIn,
    // A byte counter of an interface of a lab node: counter('rb', 'wan0', 'rx') is what came into site b.
    counter(node, dev, direction) {
      return Number(run('exec', name, node, 'cat', `/sys/class/net/${dev}/statistics/${direction}_bytes`).trim());
    },
    // Janus + nginx on the wan side (198.18.0.1), with `pluginJcfg` if given; stopped with the lab.
    async serve({ pluginJcfg } = {}) {
      const server = await startServer({ netns: `${name}-wan`, host: WAN_ADDRESS, pluginJcfg });
      servers.add(server);
      const stopServer = server.stop;
      server.stop = async () => { servers.delete(server); await stopServer(); };
      return server;
    },
    // A browser on a lab host whose pages know the lab's STUN server and treat `serverUrl` as secure.
    async browserOn(node, serverUrl) {
      const browser = await launchBrowser({ netns: `${name}-${node}`, serverUrl });
      await browser.context.addInitScript((url) => { globalThis.swarmdropIceServers = [{ urls: url }]; }, STUN_URL);
      return browser;
    },
    stop: async () => {
      forgetSignals();
      await stop();
    },
  };
}

// The plugin's limits file for a lab run: conf/janus.plugin.swarmdrop.jcfg with `settings`
// (key -> libconfig literal) in place of the file's own lines for those keys, or added at the top of
// its general category; written to `path`.
export function labJcfg(path, settings) {
  let text = readFileSync(join(repoRoot, 'conf/janus.plugin.swarmdrop.jcfg'), 'utf8');
  for (const [key, value] of Object.entries(settings)) {
    const line = new RegExp(`^(\\s*)#?\\s*${key}\\s*=[^#\\n]*`, 'm');
    text = line.test(text) ? text.replace(line, `$1${key} = ${value} `) : text.replace(/^general: \{$/m, `general: {\n\t${key} = ${value}`);
  }
  writeFileSync(path, text);
  return path;
}

// The fixture location database (tests/vectors/make-location-db.py: 198.18.0.11 and .12 in two
// operators and countries) written into `dir`: {path} or {path: null, why} when it cannot be made
// here (no generator yet, or Debian's python3-location missing).
export function fixtureLocationDb(dir) {
  const generator = join(repoRoot, 'tests/vectors/make-location-db.py');
  if (!existsSync(generator)) return { path: null, why: 'no tests/vectors/make-location-db.py' };
  const path = join(dir, 'location.db');
  try {
    execFileSync('/usr/bin/python3', [generator, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    return { path: null, why: `make-location-db.py failed: ${error.stderr?.toString().trim().split('\n').pop()}` };
  }
  return { path };
}
