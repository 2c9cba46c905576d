// The NAT lab for tests and benchmarks: builds tests/lab/nat-lab.sh's namespaces, runs Janus and
// nginx (and optionally coturn) on the wan side, launches Chromium on a lab host, and removes it
// all afterwards, also when the process is interrupted. Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { launchBrowser, repoRoot, startServer, watchPeerConnections } from '../e2e/harness.mjs';

const labScript = join(repoRoot, 'tests/lab/nat-lab.sh');
export const WAN_ADDRESS = '198.18.0.1';
export const TURN_USER = 'swarmdrop';

// Runs `stop` and exits if the process is interrupted (a lab left up keeps its namespaces);
// returns what forgets that once the lab is stopped the ordinary way.
export function stopOnSignal(stop) {
  const onSignal = () => { stop().finally(() => process.exit(1)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export async function startLab({ turn = false } = {}) {
  const name = `sd${process.pid % 100000}`;
  const run = (...args) => execFileSync(labScript, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  run('up', name);
  let coturn = null;
  let server = null;
  const stop = async () => {
    coturn?.kill('SIGTERM');
    await server?.stop();
    run('down', name);
  };
  const forgetSignals = stopOnSignal(stop);
  try {
    server = await startServer({ netns: `${name}-wan`, host: WAN_ADDRESS });
    if (turn) {
      coturn = spawn('ip', ['netns', 'exec', `${name}-wan`, 'turnserver', '-n', '--no-cli', '--no-tls', '--no-dtls',
        `--listening-ip=${WAN_ADDRESS}`, `--relay-ip=${WAN_ADDRESS}`, '--lt-cred-mech', `--user=${TURN_USER}:${TURN_USER}`,
        '--realm=lab', '--allowed-peer-ip=198.18.0.0-198.19.255.255', '--log-file=stdout'], { stdio: 'ignore' });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    server,
    // A command in a lab node's namespace.
    exec: (node, ...command) => run('exec', name, node, ...command),
    // A browser on a lab host (pub, hA, hB) counting its RTCPeerConnections (see watchPeerConnections).
    async browserOn(node, options = {}) {
      return watchPeerConnections(await launchBrowser({ netns: `${name}-${node}`, serverUrl: server.url }), options);
    },
    stop: async () => {
      forgetSignals();
      await stop();
    },
  };
}

// Makes a browser's pages reach each other only through the lab's coturn (TURN relay).
export async function useTurn(browser) {
  await browser.context.addInitScript(({ url, user }) => {
    globalThis.swarmdropIceServers = [{ urls: url, username: user, credential: user }];
    const Native = globalThis.RTCPeerConnection;
    globalThis.RTCPeerConnection = class extends Native {
      constructor(config = {}) {
        super({ ...config, iceTransportPolicy: 'relay' });
      }
    };
  }, { url: `turn:${WAN_ADDRESS}:3478?transport=udp`, user: TURN_USER });
  return browser;
}
