// The engine state both sides publish (the UI renders it; window.swarmdrop mirrors it for tests).
// phase: 'connecting' | 'waiting' | 'transferring' | 'done' | 'error'. reconnecting: the connection
// to the server was lost and is being made again (links between browsers carry on);
// reconnections: how often it was made again and the share joined again. paths: the links by
// path, {lan|direct|turn|relay: {links, sent, received}} (Swarm.pathMetrics). errorKind: what
// failed, when it is a kind the page words itself (signalling.js KIND_*; the receiver's own too),
// else null. requests: our plugin requests' budget, {sent, waited, refused} (Signalling.requestStats):
// refused counts 468 answers, which an honest page never gets.
export function newTransferState(role, phase) {
  return {
    role, shareId: null, peerId: null, phase, bytes: 0, total: 0, error: null, errorKind: null, reconnecting: false,
    reconnections: 0, paths: {}, requests: { sent: 0, waited: 0, refused: 0 },
  };
}

// The text shown while the connection to the server is being made again.
export const RECONNECTING_STATUS = 'Reconnecting to the server…';

// After joining the share again (signalling.joinAgain): the state and the swarm take the answer.
export function rejoined(state, swarm, joined) {
  state.peerId = joined.peer;
  state.reconnecting = false;
  state.reconnections += 1;
  swarm.rejoin({ selfId: joined.peer, joined });
}
