// The sender's page: pick or drop files or a folder, then show the link, its QR code and the receivers.
import QRCode from 'qrcode';
import { Sender } from '../engine/sender.js';
import { RECONNECTING_STATUS } from '../engine/state.js';
import {
  errorKindText, renderError, renderProgress, showTemplate,
} from './dom.js';
import {
  describeFile, describePath, formatPercent, formatSpeed, formatTimeLeft,
} from './format.js';
import { doneNotice, sentWords } from './done-notice.js';
import { mountMetricsPanel } from './metrics-panel.js';
import { pageHabits } from './page-habits.js';
import { filesFromDrop, filesFromInput } from './pick.js';
import { takeSharedFiles } from './share-intake.js';

const STATUS = {
  connecting: 'Creating the share…',
  waiting: 'Waiting for receivers. Keep this page open until one of them has everything.',
  transferring: 'Sending…',
  done: 'Sent.',
  stopped: 'You stopped sharing: the link leads nowhere now.',
  error: '', // the error box says it
};

const PEER_STATE = {
  connecting: 'connecting…',
  transferring: '',
  done: 'done',
};

const COPIED_LABEL_MS = 2000;

// Returns the Sender engine the page drives; settings: the page's (main.js).
export function mountSenderView(root, settings) {
  showTemplate(root, 'sender-view');
  const sender = new Sender(settings);
  const view = {
    pick: document.getElementById('pick'),
    dropZone: document.getElementById('drop-zone'),
    fileInput: document.getElementById('file-input'),
    folderInput: document.getElementById('folder-input'),
    sharing: document.getElementById('sharing'),
    fileName: document.getElementById('file-name'),
    link: document.getElementById('share-link'),
    copy: document.getElementById('copy'),
    share: document.getElementById('share'),
    qr: document.getElementById('qr'),
    otherScreen: document.getElementById('other-screen'),
    copies: document.getElementById('copies'),
    uploaded: document.getElementById('uploaded'),
    stopSharing: document.getElementById('stop-sharing'),
    screenQr: document.getElementById('screen-qr'),
    screenQrCode: document.getElementById('screen-qr-code'),
    screenQrLink: document.getElementById('screen-qr-link'),
    status: document.getElementById('status'),
    peers: document.getElementById('peers'),
    noPeers: document.getElementById('no-peers'),
    error: document.getElementById('error'),
    intakeNote: document.getElementById('intake-note'),
    intake: document.getElementById('intake'),
    intakeFiles: document.getElementById('intake-files'),
    intakeShare: document.getElementById('intake-share'),
    intakeDiscard: document.getElementById('intake-discard'),
    notify: document.getElementById('notify'),
  };

  let name = '';
  const start = (entries) => {
    if (entries.length === 0 || view.pick.hidden) return; // one share per page
    view.pick.hidden = true;
    view.sharing.hidden = false;
    const size = entries.reduce((sum, { file }) => sum + file.size, 0);
    name = entries.length === 1 ? entries[0].path : `${entries.length} files`;
    view.fileName.textContent = describeFile(name, size);
    // A hint from the files' names only: the receiver's page decides from their bytes.
    view.otherScreen.hidden = !entries.some(({ file }) => /^(video|audio|image)\//.test(file.type));
    sender.share(entries);
  };

  view.fileInput.addEventListener('change', () => start(filesFromInput(view.fileInput)));
  view.folderInput.addEventListener('change', () => start(filesFromInput(view.folderInput)));
  // Cancelling dragover and drop page-wide allows the drop on the zone, and keeps a file dropped
  // beside it from being opened by the browser in place of this page.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());
  view.dropZone.addEventListener('dragover', () => view.dropZone.classList.add('dragging'));
  view.dropZone.addEventListener('dragleave', () => view.dropZone.classList.remove('dragging'));
  view.dropZone.addEventListener('drop', (event) => {
    view.dropZone.classList.remove('dragging');
    filesFromDrop(event.dataTransfer).then(start, (error) => renderError(view.error, `Could not read what was dropped: ${error.message}`));
  });
  view.copy.addEventListener('click', () => copyLink(view));
  // The system share sheet, where the browser has one (mostly phones).
  view.share.hidden = !('share' in navigator);
  view.share.addEventListener('click', () => shareLink(view));
  view.otherScreen.addEventListener('click', () => view.screenQr.showModal());
  view.stopSharing.addEventListener('click', () => sender.stop());

  // The page's habits report in the engine's state object, which tests read (main.js).
  const habits = pageHabits(sender.state);
  const notice = doneNotice(sender.state, view.notify);
  const update = (state) => {
    render(view, state);
    // Awake while a receiver downloads; asking before closing while none of them has all of it:
    // leaving then would stop them where they are.
    const transferring = state.receivers.some((receiver) => receiver.phase === 'transferring')
      && !['stopped', 'error'].includes(state.phase);
    habits.update({ keepAwake: transferring, warnOnLeave: transferring && state.copies === 0 });
    // A notification (if hidden) when the first receiver has all of it.
    // Unfinished: the share runs and no receiver has all of it yet.
    const complete = state.receivers.find((receiver) => receiver.phase === 'done');
    const live = !view.sharing.hidden && !['stopped', 'error'].includes(state.phase);
    notice.update({ unfinished: live && !complete, done: Boolean(complete), words: complete && sentWords(complete.peer, name) });
  };
  sender.on('change', update);
  update(sender.state);
  mountMetricsPanel(view.sharing, () => sender.metrics());
  // Files shared to swarmdrop from another app: shown, and shared as if dropped on a click.
  takeSharedFiles(start, view);
  return sender;
}

function render(view, state) {
  if (state.link && !view.link.href) showLink(view, state.link);
  view.status.textContent = view.sharing.hidden ? '' : state.reconnecting ? RECONNECTING_STATUS : STATUS[state.phase];
  const sharing = Boolean(state.link) && !['stopped', 'error'].includes(state.phase);
  view.stopSharing.hidden = !sharing;
  view.copies.textContent = sharing ? copiesText(state.copies) : '';
  view.uploaded.hidden = state.uploadedBytes === 0;
  view.uploaded.textContent = uploadedText(state.uploadedCopies);
  renderError(view.error, errorKindText(state.errorKind) ?? state.error);
  renderPeers(view, state);
}

// Whether closing this page ends the share: it goes on while a receiver holds all of it.
function copiesText(copies) {
  if (copies === 0) return 'No receiver has all of it yet: keep this page open.';
  return `${copies} complete ${copies === 1 ? 'copy is' : 'copies are'} online: you may close this page and the share goes on; `
    + '“Stop sharing” ends it for everyone.';
}

// What this page's uplink carried so far, in copies of the files: about one is the goal, the
// receivers passing the pieces on to each other.
function uploadedText(copies) {
  return `You uploaded ${copies.toFixed(copies < 10 ? 2 : 0)} ${copies === 1 ? 'copy' : 'copies'} of the files; `
    + 'the receivers pass the pieces on to each other.';
}

// The link, and its QR code twice: beside it, and large for a TV or phone across the room.
function showLink(view, url) {
  view.link.href = url;
  view.link.textContent = url;
  view.screenQrLink.textContent = url;
  view.copy.disabled = false;
  view.share.disabled = false;
  QRCode.toString(url, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })
    .then((svg) => {
      // markup generated by the qrcode package from our own URL
      view.qr.innerHTML = svg;
      view.screenQrCode.innerHTML = svg;
    })
    .catch((error) => {
      view.qr.textContent = `No QR code: ${error.message}`;
      view.screenQrCode.textContent = view.qr.textContent;
    });
}

async function copyLink(view) {
  try {
    await navigator.clipboard.writeText(view.link.href);
    view.copy.textContent = 'Copied';
  } catch {
    // No clipboard access (e.g. a page not served over https): select the link for a manual copy.
    getSelection().selectAllChildren(view.link);
    view.copy.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => {
    view.copy.textContent = 'Copy';
  }, COPIED_LABEL_MS);
}

async function shareLink(view) {
  try {
    await navigator.share({ url: view.link.href, title: `${view.fileName.textContent} on swarmdrop` });
  } catch (error) {
    // AbortError: the person closed the sheet; anything else: the link stays there to copy.
    if (error.name !== 'AbortError') renderError(view.error, `Could not open the share sheet: ${error.message}`);
  }
}

// One row per receiver, keyed by data-peer; rows of receivers that left are removed.
function renderPeers(view, state) {
  const rows = new Map([...view.peers.children].map((row) => [row.dataset.peer, row]));
  for (const receiver of state.receivers) {
    let row = rows.get(receiver.peer);
    rows.delete(receiver.peer);
    if (!row) {
      row = newPeerRow(receiver.peer);
      view.peers.append(row);
    }
    renderPeerRow(row, receiver, state.total);
  }
  for (const row of rows.values()) row.remove();
  view.noPeers.hidden = state.receivers.length > 0;
}

function newPeerRow(peer) {
  const row = document.createElement('li');
  row.dataset.peer = peer;
  const name = document.createElement('span');
  name.className = 'peer-name';
  name.textContent = `Receiver ${peer.slice(0, 4)}`;
  row.append(name);
  for (const part of ['percent', 'path', 'speed', 'eta', 'peer-state']) {
    const span = document.createElement('span');
    span.className = part;
    row.append(span);
  }
  row.append(document.createElement('progress'));
  return row;
}

function renderPeerRow(row, receiver, total) {
  const transferring = receiver.phase === 'transferring';
  row.dataset.phase = receiver.phase;
  row.querySelector('.percent').textContent = formatPercent(receiver.bytes, total);
  row.querySelector('.speed').textContent = transferring ? formatSpeed(receiver.bytesPerSecond) : '';
  row.querySelector('.eta').textContent = transferring ? formatTimeLeft(receiver.secondsLeft) : '';
  // How its bytes go, once a link to it opened (path null before).
  row.dataset.path = receiver.path ?? '';
  row.querySelector('.path').textContent = describePath(receiver.path);
  row.querySelector('.peer-state').textContent = PEER_STATE[receiver.phase];
  renderProgress(row.querySelector('progress'), receiver.bytes, total, true);
}
