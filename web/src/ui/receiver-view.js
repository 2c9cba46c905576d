// The receiver's page: what is coming, how far, how fast, and how it ended.
import { Receiver } from '../engine/receiver.js';
import { renderError, renderProgress, showTemplate } from './dom.js';
import { describeFile, formatSpeed, formatTimeLeft } from './format.js';

const STATUS = {
  connecting: 'Connecting to the sender…',
  waiting: 'The sender is away; waiting for them to come back.',
  transferring: 'Receiving…',
  error: '', // the error box says it
};

// Returns the Receiver engine the page drives.
export function mountReceiverView(root, shareId) {
  showTemplate(root, 'receiver-view');
  const receiver = new Receiver(shareId);
  const view = {
    transfer: document.getElementById('transfer'),
    fileName: document.getElementById('file-name'),
    progress: document.getElementById('progress'),
    speed: document.getElementById('speed'),
    eta: document.getElementById('eta'),
    status: document.getElementById('status'),
    saveAgain: document.getElementById('save-again'),
    error: document.getElementById('error'),
  };
  receiver.on('change', (state) => render(view, state));
  receiver.start();
  return receiver;
}

function render(view, state) {
  const known = state.fileName !== null;
  const transferring = state.phase === 'transferring';
  // A link that led nowhere shows its message alone, no progress bar.
  view.transfer.hidden = !known && state.phase === 'error';
  view.fileName.textContent = known ? describeFile(state.fileName, state.total) : 'Waiting for the file’s details…';
  renderProgress(view.progress, state.bytes, state.total, known);
  view.speed.textContent = transferring ? formatSpeed(state.bytesPerSecond) : '';
  view.eta.textContent = transferring ? formatTimeLeft(state.secondsLeft) : '';
  view.status.textContent =
    state.phase === 'done' ? `Done: saved as “${state.fileName}”.` : STATUS[state.phase];
  if (state.savedUrl) {
    view.saveAgain.href = state.savedUrl;
    view.saveAgain.download = state.fileName;
    view.saveAgain.hidden = false;
  }
  renderError(view.error, state.error);
}
