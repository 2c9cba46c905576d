// What this browser offers of what swarmdrop needs, as codes the page words (ui/support-words.js).
// Without an essential the page can neither send nor receive, so it does not start: every
// transfer is end-to-end encrypted (WebCrypto) and goes over WebRTC, the relay too. What a
// receiver can do without, it reports itself as it finds out (Receiver state.lacks).

// Essentials missing here, most telling first: [] | ['insecure-context', ...] | ['no-webcrypto'] |
// ['no-webrtc']. Browsers withhold WebCrypto (and the disk store and service workers) from a page
// served over plain http from any address but localhost: saying so tells the person the fix.
export function missingEssentials(win = globalThis) {
  const missing = [];
  if (win.isSecureContext === false) missing.push('insecure-context');
  if (!win.crypto?.subtle) missing.push('no-webcrypto');
  if (typeof win.RTCPeerConnection !== 'function') missing.push('no-webrtc');
  return missing;
}
