// Signalling after a lost connection: it connects again by itself (a fake Janus stands in for the
// server), says so, and joinAgain asks again while the share is not back yet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter } from '../../web/src/engine/emitter.js';
import { PluginError, Signalling, joinAgain } from '../../web/src/engine/net/signalling.js';

// A Janus session that answers the plugin with `answer(body)` and can be cut off.
class FakeJanus extends Emitter {
  constructor(answer) {
    super();
    this.answer = answer;
  }

  async attach() {
    return 7;
  }

  async message(handleId, body) {
    return { data: this.answer(body), jsep: null };
  }

  lose() {
    this.emit('error', new Error('Lost the connection to the signalling server.'));
  }

  close() {}
}

// The plugin's answer to a join: the member id of the secret it was given (a stand-in for the
// plugin's derivation), and that secret back.
const joinedAnswer = (body) => ({
  swarmdrop: 'joined', share: body.share, peer: body.peer_secret?.slice(0, 12), peer_secret: body.peer_secret, role: 'receiver', peers: [],
});
const SECRET = 'b'.repeat(32);

test('a lost connection is made again, with a new session, after the server comes back', async () => {
  const sessions = [];
  let refusals = 2; // the server is still down for two attempts
  const signalling = await Signalling.connect(async () => {
    if (sessions.length > 0 && refusals-- > 0) throw new Error('Could not reach the signalling server.');
    sessions.push(new FakeJanus(joinedAnswer));
    return sessions.at(-1);
  });
  const seen = [];
  for (const name of ['reconnecting', 'reconnected', 'error']) signalling.on(name, () => seen.push(name));
  const reconnected = new Promise((resolve) => signalling.on('reconnected', resolve));
  sessions[0].lose();
  sessions[0].lose(); // the same loss told twice starts one reconnection
  await reconnected;
  assert.deepEqual(seen, ['reconnecting', 'reconnected']);
  assert.equal(sessions.length, 2);
  // Requests go to the new session; the old one's events are not ours any more.
  const joined = await signalling.join('0123456789abcdef', { peerSecret: 'a'.repeat(32) });
  assert.equal(joined.peer, 'aaaaaaaaaaaa');
  sessions[0].lose();
  assert.deepEqual(seen, ['reconnecting', 'reconnected']);
  signalling.close();
});

test('joinAgain asks again while the share is not back or our old id still held, and stops at any other refusal', async () => {
  const refusals = [445, 466];
  const requests = [];
  const signalling = await Signalling.connect(async () => new FakeJanus((body) => {
    requests.push(body);
    const code = refusals.shift();
    if (code) return { swarmdrop: 'error', error_code: code, error: 'not yet' };
    return joinedAnswer(body);
  }));
  const joined = await joinAgain(signalling, { share: '0123456789abcdef', peerSecret: SECRET, retryCodes: [445, 466] });
  assert.equal(joined.peer, 'bbbbbbbbbbbb');
  assert.equal(requests.length, 3);
  assert.deepEqual(requests[0], { request: 'join', share: '0123456789abcdef', peer_secret: SECRET });

  const refusing = await Signalling.connect(async () => new FakeJanus(() => ({ swarmdrop: 'error', error_code: 449, error: 'full' })));
  await assert.rejects(joinAgain(refusing, { share: '0123456789abcdef', peerSecret: SECRET, retryCodes: [445, 466] }),
    (error) => error instanceof PluginError && error.errorCode === 449);

  // The connection went again meanwhile: nothing to do until the next 'reconnected'.
  const cut = await Signalling.connect(async () => Object.assign(new FakeJanus(joinedAnswer), {
    message: async () => { throw new Error('Lost the connection to the signalling server.'); },
  }));
  assert.equal(await joinAgain(cut, { share: '0123456789abcdef', peerSecret: SECRET, retryCodes: [445, 466] }), null);
  for (const s of [signalling, refusing, cut]) s.close();
});

test('a signalling closed while it connects again stays closed', async () => {
  let finishConnecting;
  const sessions = [];
  const signalling = await Signalling.connect(async () => {
    const janus = new FakeJanus(joinedAnswer);
    janus.closed = false;
    janus.close = () => { janus.closed = true; };
    sessions.push(janus);
    if (sessions.length > 1) await new Promise((resolve) => { finishConnecting = resolve; });
    return janus;
  });
  const seen = [];
  for (const name of ['reconnected', 'error']) signalling.on(name, () => seen.push(name));
  const reconnecting = new Promise((resolve) => signalling.on('reconnecting', resolve));
  sessions[0].lose();
  await reconnecting;
  while (!finishConnecting) await new Promise((resolve) => setImmediate(resolve)); // the new session is being made
  signalling.close();
  finishConnecting();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, []);
  assert.equal(sessions[1].closed, true);
});
