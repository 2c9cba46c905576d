// Files shared to swarmdrop from another app through the system share sheet (the manifest's
// share_target, engine/share-inbox.js): the sender's page takes them from their inbox, lists
// them (names and sizes) and shares them only when the person clicks "Share these files". Any
// site can send a browser to POST /share-target with files it chose, so what arrives never
// starts a share by itself. The query leaves the address at once (a reload takes nothing again).
// It also registers the service worker, which is what receives the next share, and clears
// inboxes no page took.
import { registerWorker } from '../engine/service-worker.js';
import {
  OUTCOME, SHARE_TARGET_PARAM, clearStaleInboxes, inboxIdOf, takeShare,
} from '../engine/share-inbox.js';
import { describeFile } from './format.js';

const SAY = {
  missed: 'swarmdrop could not take what you shared: it had not been opened in this browser before. '
    + 'It is ready now: share it to swarmdrop again.',
  failed: 'What you shared did not reach swarmdrop whole: share it again.',
  noFiles: 'swarmdrop sends files: a link or a text alone cannot be sent. Share a file, a photo or a video to it.',
};

// start: the view's start([{path, file}]); view: the sender view's elements intakeNote (what went
// wrong), intake (the box listing what arrived), intakeFiles, intakeShare, intakeDiscard.
export async function takeSharedFiles(start, view, win = window) {
  // Without service workers the share sheet reaches nginx only (SAY.missed); nothing else changes.
  registerWorker().catch(() => {});
  clearStaleInboxes().catch(() => {});
  const url = new URL(win.location.href);
  const outcome = url.searchParams.get(SHARE_TARGET_PARAM);
  if (outcome === null) return;
  url.searchParams.delete(SHARE_TARGET_PARAM);
  win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  let said = outcome === OUTCOME.missed ? SAY.missed : SAY.failed;
  const id = inboxIdOf(outcome);
  if (id) {
    const shared = await takeShare(id);
    if (shared?.files.length > 0) {
      offer(shared.files, start, view);
      return;
    }
    if (shared?.other) said = SAY.noFiles;
  }
  view.intakeNote.textContent = said;
  view.intakeNote.hidden = false;
}

// Lists `files` with a button to share them and one to drop them (the page keeps nothing then).
function offer(files, start, view) {
  view.intakeFiles.replaceChildren(...files.map(({ path, file }) => {
    const row = view.intakeFiles.ownerDocument.createElement('li');
    row.textContent = describeFile(path, file.size);
    return row;
  }));
  view.intake.hidden = false;
  const answered = new AbortController();
  const close = () => {
    answered.abort();
    view.intake.hidden = true;
    view.intakeFiles.replaceChildren();
  };
  view.intakeShare.addEventListener('click', () => {
    close();
    start(files);
  }, { signal: answered.signal });
  view.intakeDiscard.addEventListener('click', close, { signal: answered.signal });
}
