// The receiver's page: what is coming, how far, how fast, and how it ended.
import { Receiver } from '../engine/receiver.js';
import { RECONNECTING_STATUS } from '../engine/state.js';
import { renderError, renderProgress, showTemplate } from './dom.js';
import { describeFile, formatSpeed, formatTimeLeft } from './format.js';

const STATUS = {
  connecting: 'Connecting…',
  waiting: 'The sender is away; waiting for them to come back.',
  transferring: 'Receiving…',
  error: '', // the error box says it
};

// Returns the Receiver engine the page drives.
export function mountReceiverView(root, shareId, linkSecret) {
  showTemplate(root, 'receiver-view');
  const receiver = new Receiver(shareId, linkSecret);
  const view = {
    transfer: document.getElementById('transfer'),
    fileName: document.getElementById('file-name'),
    progress: document.getElementById('progress'),
    speed: document.getElementById('speed'),
    eta: document.getElementById('eta'),
    status: document.getElementById('status'),
    path: document.getElementById('path'),
    badPieces: document.getElementById('bad-pieces'),
    files: document.getElementById('files'),
    saveAgain: document.getElementById('save-again'),
    error: document.getElementById('error'),
    player: document.getElementById('player'),
    playerError: document.getElementById('player-error'),
  };
  const save = (path) => receiver.save(path).catch((error) => renderError(view.error, error.message));
  view.saveAgain.addEventListener('click', () => save());
  view.files.addEventListener('click', (event) => {
    const row = event.target.closest('button[data-path]');
    if (row) save(row.dataset.path);
  });
  receiver.on('change', (state) => {
    render(view, state);
    // A video the browser can play shows as soon as the manifest is known, and plays while it
    // downloads.
    if (state.player && !state.player.error && view.player.hidden) {
      view.player.hidden = false;
      receiver.play(view.player);
    }
  });
  receiver.start();
  return receiver;
}

function render(view, state) {
  const known = state.fileName !== null;
  const transferring = state.phase === 'transferring';
  const done = state.phase === 'done';
  // A link that led nowhere shows its message alone, no progress bar.
  view.transfer.hidden = !known && state.phase === 'error';
  view.fileName.textContent = known ? describeFile(state.fileName, state.total) : 'Waiting for the file’s details…';
  renderProgress(view.progress, state.bytes, state.total, known);
  view.speed.textContent = transferring ? formatSpeed(state.bytesPerSecond) : '';
  view.eta.textContent = transferring ? formatTimeLeft(state.secondsLeft) : '';
  view.status.textContent = state.reconnecting ? RECONNECTING_STATUS : done ? doneStatus(state) : STATUS[state.phase];
  renderPath(view.path, state.peers);
  view.badPieces.hidden = state.badPieces === 0;
  view.badPieces.textContent = `${state.badPieces} damaged ${state.badPieces === 1 ? 'piece was' : 'pieces were'} `
    + 'refused and fetched again from another peer.';
  const several = state.files.length > 1;
  view.saveAgain.hidden = !done;
  view.saveAgain.textContent = several ? 'Save all as ZIP' : state.saved ? 'Save again' : 'Save';
  renderFiles(view.files, several && done ? state.files : []);
  renderError(view.error, state.error);
  renderError(view.playerError, state.player?.error ?? null);
}

// Whether the bytes come straight from the other browsers or via the server's relay.
function renderPath(element, peers) {
  const open = peers.filter((peer) => peer.phase === 'open');
  const relayed = open.filter((peer) => peer.path === 'relay').length;
  element.hidden = relayed === 0;
  element.textContent = relayed === open.length
    ? 'Via the server’s relay: the browsers could not connect directly. Still end-to-end encrypted.'
    : `${relayed} of ${open.length} connections go via the server’s relay (still end-to-end encrypted).`;
}

function doneStatus(state) {
  if (state.files.length > 1) return `Done: all ${state.files.length} files are here; save one, or all as a ZIP archive.`;
  return state.saved
    ? `Done: saved as “${state.fileName}”.`
    : `Done: “${state.fileName}” is all here; save it with the button below.`;
}

// One row per file of a share of several, each with its own save button; built once.
function renderFiles(list, files) {
  list.hidden = files.length === 0;
  if (list.hidden || list.childElementCount === files.length) return;
  list.replaceChildren(...files.map(({ path, size }) => {
    const row = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = describeFile(path, size);
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.path = path;
    button.textContent = 'Save';
    row.append(name, button);
    return row;
  }));
}
