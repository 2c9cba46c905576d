// The janus.plugin.swarmdrop requests and events (docs/protocol.md, part 1; the relay's, part 4).
// Every request goes through one budget (RequestPacer) kept under the plugin's per-connection one
// (part 1, "Limits per connection"), so that this page never gets its handle ended for asking too
// much, however many links it sets up at once.
import {
  PLUGIN_NAME, RECONNECT_DELAYS_MS, RECONNECT_WINDOW_MS, REJOIN_INTERVAL_MS, REJOIN_WINDOW_MS, SIGNALLING_QUEUE_MAX,
  SIGNALLING_REQUESTS_PER_SECOND, SIGNALLING_REQUEST_BURST, SIGNALLING_RETRIES, SIGNALLING_RETRY_DELAYS_MS,
} from '../config.js';
import { Emitter } from '../emitter.js';
import { JanusClient, JanusError } from './janus.js';

// Plugin error codes the client reacts to; the others are shown with the plugin's own words.
export const ERR_NO_SUCH_SHARE = 445;
export const ERR_SHARE_FULL = 449;
export const ERR_BAD_OWNER_TOKEN = 452;
export const ERR_PEER_TAKEN = 466;
export const ERR_TOO_SOON = 467;
export const ERR_TOO_MANY_REQUESTS = 468; // not handled: sent again after a pause, never shown
export const ERR_CONNECTION_LIMIT = 469; // this connection holds what it may (or attach refused)

// The kinds of failure the page words itself (state.errorKind), beside the message.
export const KIND_CONNECTION_LIMIT = 'connection-limit'; // too many tabs or connections from here
export const KIND_QUEUE_FULL = 'queue-full'; // our own request queue is full
export const KIND_SERVER_BUSY = 'server-busy'; // 468 still, after every retry

// Janus's refusal of an attach names the plugin's code: "Couldn't attach to plugin: error '469'".
const ATTACH_REFUSAL = /attach to plugin: error '([0-9]+)'/;

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

// A request that failed on our side, never sent: its `kind` (KIND_QUEUE_FULL).
export class SignallingError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'SignallingError';
    this.kind = kind;
  }
}

// The kind (KIND_*) of a failure the page words itself, or null: it shows the message.
export function errorKindOf(error) {
  if (error instanceof PluginError && error.errorCode === ERR_CONNECTION_LIMIT) return KIND_CONNECTION_LIMIT;
  if (error instanceof PluginError && error.errorCode === ERR_TOO_MANY_REQUESTS) return KIND_SERVER_BUSY;
  if (error instanceof SignallingError) return error.kind;
  return null;
}

/**
 * A token bucket (`rate` a second, at most `burst` saved, full at first) with one ordered queue of
 * at most `maxQueued` requests in front of it: submit(send) runs `send` (a function returning a
 * promise) once a token lets it go, after every request submitted before it, and settles as that
 * promise does; one more than the queue holds fails at once (SignallingError, KIND_QUEUE_FULL).
 * A request sent again (the plugin refused it for want of budget) keeps its place: submitted
 * `again` with its first ticket it goes before every later one (past the bound: it was queued once).
 * pause(ms) sends nothing for that long and empties the bucket. sent: the requests sent (again
 * included); waited: those that found no token at once. now: a clock in ms (tests).
 */
export class RequestPacer {
  sent = 0;
  waited = 0;
  #rate;
  #burst;
  #maxQueued;
  #now;
  #tokens;
  #at;
  #pausedUntil = -Infinity;
  #queue = []; // {ticket, send, resolve, reject}, by ticket
  #tickets = 0;
  #timer = null;

  constructor({
    rate = SIGNALLING_REQUESTS_PER_SECOND, burst = SIGNALLING_REQUEST_BURST, maxQueued = SIGNALLING_QUEUE_MAX,
    now = () => performance.now(),
  } = {}) {
    this.#rate = rate;
    this.#burst = burst;
    this.#maxQueued = maxQueued;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  ticket() {
    return ++this.#tickets;
  }

  // again: a request sent before with that ticket (the plugin refused it for want of budget).
  submit(send, { ticket = this.ticket(), again = false } = {}) {
    if (!again && this.#queue.length >= this.#maxQueued) {
      return Promise.reject(new SignallingError(KIND_QUEUE_FULL,
        `Too many requests wait for the signalling server (${this.#queue.length}).`));
    }
    return new Promise((resolve, reject) => {
      let at = this.#queue.length;
      while (at > 0 && this.#queue[at - 1].ticket > ticket) at -= 1;
      this.#queue.splice(at, 0, { ticket, send, resolve, reject });
      if (!again && (this.#queue.length > 1 || this.#available() < 1 || this.#now() < this.#pausedUntil)) this.waited += 1;
      this.#pump();
    });
  }

  pause(ms) {
    const now = this.#now();
    this.#available();
    this.#tokens = Math.min(this.#tokens, 0);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + ms);
    this.#pump();
  }

  // Fails every request still waiting (the connection went: they would fail anyway).
  clear(error) {
    clearTimeout(this.#timer);
    this.#timer = null;
    for (const { reject } of this.#queue.splice(0)) reject(error);
  }

  // The tokens now (refilled since last asked).
  #available() {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    return this.#tokens;
  }

  #pump() {
    clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#queue.length > 0) {
      const tokens = this.#available();
      const wait = Math.max(this.#pausedUntil - this.#now(), tokens < 1 ? ((1 - tokens) * 1000) / this.#rate : 0);
      if (wait > 0) {
        this.#timer = setTimeout(() => this.#pump(), Math.ceil(wait));
        return;
      }
      this.#tokens -= 1;
      this.sent += 1;
      const { send, resolve, reject } = this.#queue.shift();
      // A send that throws at once settles its request too: the queue never stops behind it.
      Promise.resolve().then(send).then(resolve, reject);
    }
  }
}

/**
 * A Janus session with one handle on the swarmdrop plugin. Events, each with the plugin's data
 * object: 'peer_joined', 'peer_left', 'share_closed', 'signal'. When the connection to the server
 * is lost (the server restarted, the network went), 'reconnecting' (the Error), then attempts to
 * connect again for RECONNECT_WINDOW_MS: 'reconnected' with a new session (the plugin forgot
 * ours: join again), or 'error' (the Error) when it gives up. Requests fail meanwhile (those
 * waiting for the budget too). A 468 (the plugin had no budget left for us: not handled) is sent
 * again after a pause, at most `retries` times; an attach refused with 469 rejects with that
 * PluginError (errorKindOf: KIND_CONNECTION_LIMIT).
 */
export class Signalling extends Emitter {
  #janus = null;
  #handleId = null;
  #closed = false;
  #reconnecting = false;
  #connect;
  #pacer;
  #retryDelaysMs;
  #retries;
  #refused = 0;
  #hangingUp = null; // hangupRelay's, which the next relay() waits for

  // connect: () => Promise<JanusClient>; budget: RequestPacer's options and {retryDelaysMs,
  // retries} (config.js SIGNALLING_*), for tests.
  static async connect(connect = () => JanusClient.connect(), budget = {}) {
    const signalling = new Signalling(connect, budget);
    await signalling.#open();
    return signalling;
  }

  constructor(connect, { retryDelaysMs = SIGNALLING_RETRY_DELAYS_MS, retries = SIGNALLING_RETRIES, ...pacing } = {}) {
    super();
    this.#connect = connect;
    this.#pacer = new RequestPacer(pacing);
    this.#retryDelaysMs = retryDelaysMs;
    this.#retries = retries;
  }

  // How the budget went: {sent: requests sent, waited: those that waited for it, refused: 468
  // answers (each sent again)}. An honest page should never see one refused.
  get requestStats() {
    return { sent: this.#pacer.sent, waited: this.#pacer.waited, refused: this.#refused };
  }

  async #open() {
    const janus = await this.#connect();
    let handleId;
    try {
      handleId = await janus.attach(PLUGIN_NAME);
    } catch (error) {
      janus.close();
      const code = error instanceof JanusError && Number(ATTACH_REFUSAL.exec(error.message)?.[1]);
      throw code ? new PluginError(code, error.message) : error;
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
    this.#pacer.clear(error);
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
  // first time on this handle (or after hangupRelay) with the plugin's JSEP offer for the relay's
  // data channel.
  async relay(share) {
    await this.#hangingUp;
    const { data, jsep } = await this.#exchange({ request: 'relay', share }, 'relay');
    return jsep ? { ...data, jsep } : data;
  }

  // Our JSEP answer to the relay's offer.
  async relayAnswer(jsep) {
    await this.#exchange({ request: 'relay_answer' }, 'relay_answered', jsep);
  }

  // Hangs up the relay's PeerConnection on our handle (Janus `hangup`: the plugin forgets the
  // handle's relay endpoints and offer), once our side of it is lost; the next relay() waits for
  // it. A failure is no matter: a handle or connection that is gone holds no relay either.
  hangupRelay() {
    this.#hangingUp = this.#janus.hangup(this.#handleId).catch(() => {});
    return this.#hangingUp;
  }

  close() {
    this.#closed = true;
    this.#pacer.clear(new Error('The connection to the signalling server was closed.'));
    this.#janus?.close();
  }

  async #request(body, expectedAnswer) {
    return (await this.#exchange(body, expectedAnswer)).data;
  }

  // Through the budget, in order; the session and handle are those of when it goes.
  async #exchange(body, expectedAnswer, jsep = null) {
    const send = () => this.#janus.message(this.#handleId, body, jsep);
    const ticket = this.#pacer.ticket();
    let answer;
    for (let attempt = 0; ; attempt++) {
      answer = await this.#pacer.submit(send, { ticket, again: attempt > 0 });
      if (answer.data?.error_code !== ERR_TOO_MANY_REQUESTS) break;
      this.#refused += 1;
      if (attempt >= this.#retries) break;
      this.#pacer.pause(this.#retryDelaysMs[Math.min(attempt, this.#retryDelaysMs.length - 1)]);
    }
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
