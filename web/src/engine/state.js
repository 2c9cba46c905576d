// The engine state both sides publish (the UI renders it; window.swarmdrop mirrors it for tests).
// phase: 'connecting' | 'waiting' | 'transferring' | 'done' | 'error'.
export function newTransferState(role, phase) {
  return { role, shareId: null, peerId: null, phase, bytes: 0, total: 0, error: null };
}
