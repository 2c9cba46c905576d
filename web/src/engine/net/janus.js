// A small client for the Janus WebSocket API: one session, plugin handles, plugin messages.
// Only what swarmdrop needs: no media; JSEP only for the relay's data channel to the plugin.
import { JANUS_KEEPALIVE_MS, JANUS_SUBPROTOCOL, JANUS_WS_PATH, REQUEST_TIMEOUT_MS } from '../config.js';
import { Emitter } from '../emitter.js';

// Same origin as the page: nginx (or the Vite dev server) forwards the path to Janus.
export function janusUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${JANUS_WS_PATH}`;
}

// Janus itself refused a request (unknown session, plugin not found, ...): not a plugin answer.
export class JanusError extends Error {
  constructor(code, reason) {
    super(`The signalling server refused a request (Janus error ${code}: ${reason}).`);
    this.name = 'JanusError';
    this.code = code;
  }
}

/**
 * One Janus session over one WebSocket. Events:
 * - 'pluginevent' {handleId, data}: a plugin event that answers no request of ours;
 * - 'error' Error: the session is gone (socket closed, session expired, keepalive unanswered).
 *   Pending requests are rejected with the same error.
 */
export class JanusClient extends Emitter {
  #socket = null;
  #sessionId = null;
  #pending = new Map(); // transaction -> {resolve, reject, timer, awaitsPluginAnswer}
  #nextTransaction = 0;
  #keepaliveTimer = null;
  #closed = false;

  static async connect(url = janusUrl()) {
    const client = new JanusClient();
    try {
      await client.#open(url);
      const created = await client.#request({ janus: 'create' });
      client.#sessionId = created.data.id;
    } catch (error) {
      client.close();
      throw error;
    }
    client.#keepaliveTimer = setInterval(() => client.#keepalive(), JANUS_KEEPALIVE_MS);
    return client;
  }

  // Returns the handle id.
  async attach(plugin) {
    const answer = await this.#request({ janus: 'attach', plugin });
    return answer.data.id;
  }

  // Sends `body` (and a JSEP, if given) to the plugin behind `handleId`; resolves with the
  // plugin's answer {data: plugindata.data, jsep}, whether the plugin answers at once or later as
  // an event. Janus puts a JSEP the plugin sends beside plugindata.
  async message(handleId, body, jsep = null) {
    const message = { janus: 'message', handle_id: handleId, body };
    if (jsep) message.jsep = jsep;
    const answer = await this.#request(message, true);
    if (!answer.plugindata) throw new Error('The signalling server answered without plugin data.');
    return { data: answer.plugindata.data, jsep: answer.jsep ?? null };
  }

  // Ends the PeerConnection of `handleId` (Janus's `hangup`); the plugin hears hangup_media.
  async hangup(handleId) {
    await this.#request({ janus: 'hangup', handle_id: handleId });
  }

  close() {
    if (!this.#closed) this.#shutdown(new Error('The connection to the signalling server was closed.'));
  }

  #open(url) {
    return new Promise((resolve, reject) => {
      this.#socket = new WebSocket(url, JANUS_SUBPROTOCOL);
      this.#socket.addEventListener('open', () => resolve(), { once: true });
      this.#socket.addEventListener('message', (event) => this.#onMessage(event.data));
      this.#socket.addEventListener('close', () => {
        reject(new Error('Could not reach the signalling server.')); // no effect once opened
        this.#lose(new Error('Lost the connection to the signalling server.'));
      });
    });
  }

  #request(message, awaitsPluginAnswer = false) {
    if (this.#closed) {
      return Promise.reject(new Error('The connection to the signalling server is closed.'));
    }
    const transaction = String(++this.#nextTransaction);
    const payload = { ...message, transaction };
    if (this.#sessionId !== null) payload.session_id = this.#sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(transaction);
        reject(new Error('The signalling server did not answer in time.'));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(transaction, { resolve, reject, timer, awaitsPluginAnswer });
      this.#socket.send(JSON.stringify(payload));
    });
  }

  #onMessage(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this.#lose(new Error('The signalling server sent a malformed message.'));
      return;
    }
    const pending = message.transaction !== undefined && this.#pending.get(message.transaction);
    if (pending) {
      // Janus acknowledges a plugin message at once; the plugin's answer follows as an
      // 'event' carrying the same transaction.
      if (message.janus === 'ack' && pending.awaitsPluginAnswer) return;
      this.#pending.delete(message.transaction);
      clearTimeout(pending.timer);
      if (message.janus === 'error') {
        pending.reject(new JanusError(message.error?.code, message.error?.reason));
      } else {
        pending.resolve(message);
      }
      return;
    }
    switch (message.janus) {
      case 'event':
        if (message.plugindata) {
          this.emit('pluginevent', { handleId: message.sender, data: message.plugindata.data });
        }
        break;
      case 'timeout':
        this.#lose(new Error('The signalling session expired.'));
        break;
      case 'detached':
        this.#lose(new Error('The signalling server dropped our plugin handle.'));
        break;
      // Anything else (webrtcup, media, hangup, slowlink): the relay's RTCPeerConnection sees
      // for itself whether it works.
    }
  }

  #keepalive() {
    // An unanswered keepalive means the server or the path to it is gone.
    this.#request({ janus: 'keepalive' }).catch((error) => this.#lose(error));
  }

  #lose(error) {
    if (this.#closed) return;
    this.#shutdown(error);
    this.emit('error', error);
  }

  #shutdown(error) {
    this.#closed = true;
    clearInterval(this.#keepaliveTimer);
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.#pending.clear();
    // Janus destroys the session (and so our peers in every share) when its socket closes.
    this.#socket?.close();
  }
}
