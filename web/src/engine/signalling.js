// The janus.plugin.swarmdrop requests and events (docs/protocol.md, part 1; the relay's, part 4).
import { PLUGIN_NAME } from './config.js';
import { Emitter } from './emitter.js';
import { JanusClient } from './janus.js';

// Plugin error codes the client reacts to; the others are shown with the plugin's own words.
export const ERR_NO_SUCH_SHARE = 445;
export const ERR_SHARE_FULL = 449;

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
 * object: 'peer_joined', 'peer_left', 'share_closed', 'signal'; and 'error' (an Error) when the
 * connection to the server is lost.
 */
export class Signalling extends Emitter {
  #janus;
  #handleId;

  static async connect() {
    const janus = await JanusClient.connect();
    try {
      return new Signalling(janus, await janus.attach(PLUGIN_NAME));
    } catch (error) {
      janus.close();
      throw error;
    }
  }

  constructor(janus, handleId) {
    super();
    this.#janus = janus;
    this.#handleId = handleId;
    janus.on('pluginevent', ({ handleId: from, data }) => {
      if (from === handleId && data?.swarmdrop === 'event') this.emit(data.event, data);
    });
    janus.on('error', (error) => this.emit('error', error));
  }

  // -> {share, peer, owner_token}
  create() {
    return this.#request({ request: 'create' }, 'created');
  }

  // -> {share, peer, role, peers: [{peer, role}]}
  join(share, ownerToken) {
    const body = { request: 'join', share };
    if (ownerToken) body.owner_token = ownerToken;
    return this.#request(body, 'joined');
  }

  leave(share) {
    return this.#request({ request: 'leave', share }, 'left');
  }

  // -> {share, peers: [{peer, role}]}
  list(share) {
    return this.#request({ request: 'list', share }, 'peers');
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
    this.#janus.close();
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
