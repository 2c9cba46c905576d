// One other member of the share we have a link with: its PeerLink spoken in wire v2, what it
// announced it holds, the piece bytes that went each way, and how it behaved (what we asked it
// for is in the scheduler's Requests). Its messages are handled one at a time and in order (a
// hash batch before the piece it covers), even when handling waits.
// The side that asked for the link speaks first (`hello`, once its channel is open) and the other
// waits for it: a message that reaches a channel whose open event has not fired yet can be lost.
import { Bitfield } from '../transfer/bitfield.js';
import { Emitter } from '../emitter.js';
import {
  FRAME_HEADER_BYTES, HELLO_MESSAGE, ManifestAssembler, ProtocolError, decodeFrame, encodeFrames, parseMessage,
} from './wire.js';

/** The peer asked more of us than the protocol lets it (Seeder): the swarm bans it (BAN_REQUESTS). */
export class BudgetError extends ProtocolError {
  name = 'BudgetError';
}

/**
 * `handle(peer, message)` gets every checked message (wire.parseMessage, or {t:'data', piece,
 * offset, data} for a frame) and may return a promise; the next message waits for it.
 * Events: 'open' (both sides may talk: we sent or got `hello`); 'lost' (an Error, the link is
 * gone); 'fault' (an Error thrown by handle, or a ProtocolError for a message before `hello`).
 */
export class Peer extends Emitter {
  remote = null; // Bitfield of the pieces it announced, once the piece count is known
  bad = 0; // pieces from it that failed verification
  downloadedBytes = 0; // piece bytes it sent us (counted by the downloading role)
  uploadedBytes = 0; // piece bytes we sent it
  open = false; // `hello` went out (we asked for the link) or came in (it asked)
  #closed = false;
  #inbox = Promise.resolve();
  #manifest = new ManifestAssembler();

  constructor({ id, role, link, handle }) {
    super();
    this.id = id;
    this.role = role;
    this.link = link;
    link.on('open', () => {
      if (!link.initiator) return;
      link.send(HELLO_MESSAGE);
      this.#ready();
    });
    link.on('lost', (error) => {
      this.open = false;
      this.#closed = true;
      this.emit('lost', error);
    });
    link.on('message', (message) => this.#enqueue(handle, () => this.#whole(parseMessage(message))));
    link.on('data', (buffer) => this.#enqueue(handle, () => decodeFrame(buffer)));
  }

  // A `have` message: the whole bitfield, or pieces to add to it.
  addHave({ bitfield, pieces }, pieceCount) {
    if (bitfield) {
      if (bitfield.length !== Math.ceil(pieceCount / 8)) throw new ProtocolError('A have bitfield has the wrong length.');
      this.remote = new Bitfield(pieceCount, bitfield);
      return;
    }
    this.remote ??= new Bitfield(pieceCount);
    for (const piece of pieces) {
      if (piece >= pieceCount) throw new ProtocolError(`A have names piece ${piece}, which the share does not have.`);
      this.remote.set(piece);
    }
  }

  // A text message, after what already waits on the link (see Outbox); sendInTurn resolves once
  // it is handed to the channel (false if the link closed first).
  send(message) {
    this.link.send(message);
  }

  sendInTurn(message) {
    return this.link.sendInTurn(message);
  }

  // Resolves once what was sent has mostly left (PeerLink.drained).
  drained() {
    return this.link.drained();
  }

  // Sends C_i as frames sized to the link, under its flow control. Resolves to false if the link
  // closed first.
  async sendPiece(index, ciphertext) {
    for (const frame of encodeFrames(index, ciphertext, this.link.messageSize)) {
      if (!(await this.link.sendBinary(frame))) return false;
      this.uploadedBytes += frame.length - FRAME_HEADER_BYTES;
    }
    return true;
  }

  close() {
    this.open = false;
    this.#closed = true;
    this.link.close();
  }

  // Manifest parts reach `handle` as one {t:'manifest', sealed} once the last is in.
  #whole(message) {
    if (message?.t !== 'manifest') return message;
    const sealed = this.#manifest.add(message);
    return sealed && { t: 'manifest', sealed };
  }

  #ready() {
    this.open = true;
    this.emit('open');
  }

  #enqueue(handle, parse) {
    this.#inbox = this.#inbox
      .then(() => {
        const message = parse();
        if (!message || this.#closed) return undefined;
        if (message.t === 'hello') {
          if (!this.open && !this.link.initiator) this.#ready();
          return undefined;
        }
        if (!this.open) throw new ProtocolError(`A peer sent "${message.t}" before "hello".`);
        return handle(this, message);
      })
      .catch((error) => this.emit('fault', error));
  }
}
