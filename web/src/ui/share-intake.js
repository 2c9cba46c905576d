// Files shared to swarmdrop from another app through the system share sheet (the manifest's
// share_target, engine/share-inbox.js): the sender's page takes them from the inbox and shares
// them as if they were dropped, then drops the query from its address (a reload shares nothing
// again). It also registers the service worker, which is what receives the next share.
import { registerWorker } from '../engine/service-worker.js';
import { OUTCOME, SHARE_TARGET_PARAM, takeShare } from '../engine/share-inbox.js';

const SAY = {
  missed: 'swarmdrop could not take what you shared: it had not been opened in this browser before. '
    + 'It is ready now: share it to swarmdrop again.',
  failed: 'What you shared did not reach swarmdrop whole: share it again.',
  noFiles: 'swarmdrop sends files: a link or a text alone cannot be sent. Share a file, a photo or a video to it.',
};

// start: the view's start([{path, file}]); note: the element that says what went wrong.
export async function takeSharedFiles(start, note, win = window) {
  // Without service workers the share sheet reaches nginx only (SAY.missed); nothing else changes.
  registerWorker().catch(() => {});
  const url = new URL(win.location.href);
  const outcome = url.searchParams.get(SHARE_TARGET_PARAM);
  if (outcome === null) return;
  url.searchParams.delete(SHARE_TARGET_PARAM);
  win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  let said = outcome === OUTCOME.missed ? SAY.missed : SAY.failed;
  if (outcome === OUTCOME.received) {
    const shared = await takeShare();
    if (shared?.files.length > 0) {
      start(shared.files);
      return;
    }
    if (shared) said = SAY.noFiles;
  }
  note.textContent = said;
  note.hidden = false;
}
