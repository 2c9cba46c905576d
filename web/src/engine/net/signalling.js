// The janus.plugin.swarmdrop requests and events (docs/protocol.md, part 1; the relay's, part 4).
import {
  PLUGIN_NAME, RECONNECT_DELAYS_MS, RECONNECT_WINDOW_MS, REJOIN_INTERVAL_MS, REJOIN_WINDOW_MS,
} from '../config.js';
import { Emitter } from '../emitter.js';
import { JanusClient } from './janus.js';

// Plugin error codes the client reacts to; the others are shown with the plugin's own words.
export const ERR_NO_SUCH_SHARE = 445;
export const ERR_SHARE_FULL = 449;
export const ERR_BAD_OWNER_TOKEN = 452;
export const ERR_PEER_TAKEN = 466;
export const ERR_TOO_SOON = 467;

// Identifier formats, checked before a share id from a URL is sent anywhere.
export const SHARE_ID_PATTERN = /^[0-9a-f]{16}$/;

// The plugin answered {"swarmdrop":"error"}: carries its error_code and message.
export class PluginError extends Error {
  constructor(errorCode, message) {
    super(message);
    this.name = 'PluginError';
    this.errorCode = errorCode;
  }
}

/**
 * A Janus session with one handle on the swarmdrop plugin. Events, each with the plugin's data
 * object: 'peer_joined', 'peer_left', 'share_closed', 'signal'. When the connection to the server
 * is lost (the server restarted, the network went), 'reconnecting' (the Error), then attempts to
 * connect again for RECONNECT_WINDOW_MS: 'reconnected' with a new session (the plugin forgot
 * ours: join again), or 'error' (the Error) when it gives up. Requests fail meanwhile.
 */
export class Signalling extends Emitter {
  #janus = null;
  #handleId = null;
  #closed = false;
  #reconnecting = false;
  #connect;

  // connect: () => Promise<JanusClient>, for tests.
  static async connect(connect = () => JanusClient.connect()) {
    const signalling = new Signalling(connect);
    await signalling.#open();
    return signalling;
  }

  constructor(connect) {
    super();
    this.#connect = connect;
  }

  async #open() {
    const janus = await this.#connect();
    let handleId;
    try {
      handleId = await janus.attach(PLUGIN_NAME);
    } catch (error) {
      janus.close();
      throw error;
    }
    janus.on('pluginevent', ({ handleId: from, data }) => {
      if (from === handleId && data?.swarmdrop === 'event') this.emit(data.event, data);
    });
    janus.on('error', (error) => this.#lost(janus, error));
    // Closed while this session was being made (a reconnection): it is not ours to keep.
    if (this.#closed) {
      janus.close();
      throw new Error('The connection to the signalling server was closed.');
    }
    this.#janus = janus;
    this.#handleId = handleId;
  }

  async #lost(janus, error) {
    if (this.#closed || janus !== this.#janus || this.#reconnecting) return;
    this.#reconnecting = true;
    try {
      await this.#reconnect(error);
    } finally {
      this.#reconnecting = false;
    }
  }

  async #reconnect(error) {
    this.emit('reconnecting', error);
    const deadline = Date.now() + RECONNECT_WINDOW_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)]));
      if (this.#closed) return;
      try {
        await this.#open();
        this.emit('reconnected');
        return;
      } catch {
        if (this.#closed) return;
        // the server is not back yet
      }
    }
    this.emit('error', error);
  }

  // -> {share, peer, owner_token, peer_secret}
  create() {
    return this.#request({ request: 'create' }, 'created');
  }

  // -> {share, peer, role, peer_secret, peers: [{peer, role, relay?, tier?, complete?}] (ranked
  // for us, best first), max_links?, restored?}. ownerToken: join as the owner; peerSecret: the
  // secret of the member id we had before (the connection was lost), which only its holder can
  // name; address: our public address (tracker.js), for the ranking.
  join(share, { ownerToken = null, peerSecret = null, address = null } = {}) {
    const body = { request: 'join', share };
    if (ownerToken) body.owner_token = ownerToken;
    if (peerSecret) body.peer_secret = peerSecret;
    if (address) body.address = address;
    return this.#request(body, 'joined');
  }

  // Stops the share for everyone (its owner's token proves the right to).
  stopShare(share, ownerToken) {
    return this.#request({ request: 'close', share, owner_token: ownerToken }, 'closed');
  }

  leave(share) {
    return this.#request({ request: 'leave', share }, 'left');
  }

  // -> {share, peers: [...]}, ranked for us as join's.
  list(share) {
    return this.#request({ request: 'list', share }, 'peers');
  }

  // Our tracker report (tracker.js: {complete, have?, address?, links}) -> {share, interval_ms}.
  report(share, body) {
    return this.#request({ request: 'report', share, ...body }, 'reported');
  }

  signal(share, to, payload) {
    return this.#request({ request: 'signal', share, to, payload }, 'signalled');
  }

  // Makes our member of `share` a relay endpoint -> {share, peer, window, ready?, jsep?}: the
  // first time on this handle with the plugin's JSEP offer for the relay's data channel.
  async relay(share) {
    const { data, jsep } = await this.#exchange({ request: 'relay', share }, 'relay');
    return jsep ? { ...data, jsep } : data;
  }

  // Our JSEP answer to the relay's offer.
  async relayAnswer(jsep) {
    await this.#exchange({ request: 'relay_answer' }, 'relay_answered', jsep);
  }

  close() {
    this.#closed = true;
    this.#janus?.close();
  }

  async #request(body, expectedAnswer) {
    return (await this.#exchange(body, expectedAnswer)).data;
  }

  async #exchange(body, expectedAnswer, jsep = null) {
    const answer = await this.#janus.message(this.#handleId, body, jsep);
    const { data } = answer;
    if (data?.swarmdrop === 'error') throw new PluginError(data.error_code, data.error);
    if (data?.swarmdrop !== expectedAnswer) {
      throw new Error(`The signalling server gave an unexpected answer to "${body.request}".`);
    }
    return answer;
  }
}

/**
 * Joins `share` again after the connection to the server was made again, under the member id of
 * `peerSecret` (and as the owner with `ownerToken`), asking again every REJOIN_INTERVAL_MS for up
 * to REJOIN_WINDOW_MS while the plugin answers one of `retryCodes` (the share is not back yet, or
 * the server still sees our old connection holding our id). Resolves to the join answer, or null
 * when the connection was lost again (the next 'reconnected' starts over); rejects with any other
 * PluginError.
 */
export async function joinAgain(signalling, { share, ownerToken = null, peerSecret, address = null, retryCodes }) {
  const deadline = Date.now() + REJOIN_WINDOW_MS;
  for (;;) {
    try {
      return await signalling.join(share, { ownerToken, peerSecret, address });
    } catch (error) {
      if (!(error instanceof PluginError)) return null;
      if (!retryCodes.includes(error.errorCode) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, REJOIN_INTERVAL_MS));
    }
  }
}
