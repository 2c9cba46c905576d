// How long a receiver keeps what it received (OPFS, opfs.js): the decision alone, free of the
// browser, so that node tests check it. Received plaintext is the person's data; it stays on disk
// for re-serving, playing and saving again only while the page may need it:
// - a share forgotten on its page (Receiver.forget) or stopped by its sender before it completed
//   is removed at once (store.js forgetStoredShare);
// - at every start of a store, a share not opened for maxIdleMs is removed, finished or not;
// - then, while all kept shares together exceed budgetBytes, the finished ones least recently
//   opened are removed (a finished share was saved or can be fetched again; one half way is not
//   removed for room: that would throw away the download in progress).
// The share being opened and shares another tab holds open are never removed.

/**
 * shares: [{id, usedAt (ms), complete, bytes}]; keep: ids never to remove. Returns the ids to
 * remove, in the order to remove them.
 */
export function sharesToEvict(shares, { budgetBytes, maxIdleMs, now, keep = new Set() }) {
  const evict = [];
  const kept = [];
  for (const share of shares) {
    if (!keep.has(share.id) && now - share.usedAt > maxIdleMs) evict.push(share.id);
    else kept.push(share);
  }
  let total = kept.reduce((sum, share) => sum + share.bytes, 0);
  const finished = kept.filter((share) => share.complete && !keep.has(share.id)).sort((a, b) => a.usedAt - b.usedAt);
  for (const share of finished) {
    if (total <= budgetBytes) break;
    evict.push(share.id);
    total -= share.bytes;
  }
  return evict;
}
