// The infrastructure of several Janus nodes (scripts/serve.sh SWARMDROP_NODES, conf/nginx.conf.in,
// startServer({nodes})): nginx's cookie pins a WebSocket to a node and fails over while that node
// is down, a killed node starts again with its start.sh, nats-server runs; one node is as before.
// Not the cluster itself (the plugin's sharing through NATS): tests/e2e/cluster.test.mjs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { closeAll, janusConnection, launchBrowser, pinBrowser, startServer } from './harness.mjs';

let server;
before(async () => { server = await startServer({ nodes: 2 }); });
after(async () => { await server?.stop(); });

// The server_name of the Janus that a new WebSocket to wsUrl reaches (Janus's "info" request),
// sent with the cookie swarmdrop_node=<pin> when pin is given.
async function reached(wsUrl, pin = null) {
  const conn = await janusConnection(wsUrl, pin ? { headers: { Cookie: `swarmdrop_node=${pin}` } } : {});
  try {
    return (await conn.send({ janus: 'info' }))['server-name'];
  } finally {
    conn.close();
  }
}

// The first line nats-server sends to a client that connects to port.
function natsGreeting(port) {
  return new Promise((res, rej) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\r\n')) { socket.destroy(); res(text.split('\r\n')[0]); }
    });
    socket.on('error', rej);
  });
}

test('each node has its own configuration with the cluster settings', () => {
  for (const { id } of server.nodes) {
    const dir = join(server.stateDir, `node-${id}`, 'janus');
    assert.match(readFileSync(join(dir, 'janus.jcfg'), 'utf8'), new RegExp(`server_name = "swarmdrop-${id}"`));
    const plugin = readFileSync(join(dir, 'janus.plugin.swarmdrop.jcfg'), 'utf8');
    assert.match(plugin, new RegExp(`^general: \\{\\n(\\t.*\\n)*\\tcluster_url = "${server.engine.url}"\\n\\tcluster_node = "${id}"\\n`, 'm'));
  }
});

test('a cookie pins a WebSocket to its node; while that node is down it reaches another', async () => {
  const [a, b] = server.nodes;
  assert.equal(await reached(a.wsUrl), 'swarmdrop-a');
  assert.equal(await reached(b.wsUrl), 'swarmdrop-b');
  assert.equal(await reached(server.wsUrl, 'a'), 'swarmdrop-a');
  assert.equal(await reached(server.wsUrl, 'b'), 'swarmdrop-b');

  const killed = b.pid();
  await b.kill('SIGKILL');
  assert.equal(await reached(server.wsUrl, 'b'), 'swarmdrop-a'); // nginx's next upstream
  assert.ok(server.alive(), 'scripts/serve.sh ended with a node');

  const started = Date.now();
  await b.start();
  assert.notEqual(b.pid(), killed);
  // nginx tries a node that failed again after its fail_timeout (5 s); until then, a.
  let name;
  while ((name = await reached(server.wsUrl, 'b')) !== 'swarmdrop-b' && Date.now() - started < 15_000) {
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.equal(name, 'swarmdrop-b');
  assert.equal(await reached(server.wsUrl, 'a'), 'swarmdrop-a');
});

test('pinBrowser sends a page\'s WebSocket to its node', async () => {
  const browser = await launchBrowser();
  try {
    await pinBrowser(browser, 'b', server.url);
    await browser.page.goto(server.url);
    const name = await browser.page.evaluate(() => new Promise((res, rej) => {
      const ws = new WebSocket(`ws://${location.host}/janus`, 'janus-protocol');
      ws.onopen = () => ws.send(JSON.stringify({ janus: 'info', transaction: 'i' }));
      ws.onmessage = ({ data }) => { res(JSON.parse(data)['server-name']); ws.close(); };
      ws.onerror = () => rej(new Error('the WebSocket failed'));
    }));
    assert.equal(name, 'swarmdrop-b');
  } finally {
    await closeAll([browser]);
  }
});

test('nats-server runs, and starts again after a kill', async () => {
  const port = Number(new URL(server.engine.url).port);
  assert.equal(readFileSync(`/proc/${server.engine.pid()}/comm`, 'utf8').trim(), 'nats-server');
  assert.match(await natsGreeting(port), /^INFO \{/);
  await server.engine.kill();
  await assert.rejects(natsGreeting(port));
  await server.engine.start();
  assert.match(await natsGreeting(port), /^INFO \{/);
  assert.ok(server.alive(), 'scripts/serve.sh ended with nats-server');
});

test('one node: no upstream, no nats-server, the state folder as before', async () => {
  const single = await startServer();
  try {
    const nginx = readFileSync(join(single.stateDir, 'nginx.conf'), 'utf8');
    assert.match(nginx, /proxy_pass http:\/\/127\.0\.0\.1:[0-9]+;\n\t\t\tproxy_http_version/);
    assert.doesNotMatch(nginx, /upstream|@JANUS/);
    assert.ok(!existsSync(join(single.stateDir, 'nats-start.sh')));
    assert.ok(!existsSync(join(single.stateDir, 'node-a')));
    // No cluster key set (the sample's are commented out).
    assert.doesNotMatch(readFileSync(join(single.stateDir, 'janus/janus.plugin.swarmdrop.jcfg'), 'utf8'), /^\s*cluster_/m);
    assert.equal(single.nodes, undefined);
    assert.equal(await reached(single.wsUrl), 'swarmdrop');
  } finally {
    await single.stop();
  }
});
