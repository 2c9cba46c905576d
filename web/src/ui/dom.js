// DOM helpers shared by both views.

// Replaces the content of `root` with a copy of the <template id=templateId> in index.html.
export function showTemplate(root, templateId) {
  root.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
}

// What the error box says of the engine's error kinds both sides share (state.errorKind,
// engine/net/signalling.js KIND_*); null: the engine's message says it.
const KIND_TEXT = {
  'connection-limit': 'Too many tabs or connections to the server from here (this browser, or '
    + 'this network): close other swarmdrop tabs, wait a moment, then reload this page.',
  'queue-full': 'Too many requests are waiting for the server; reload this page.',
  'server-busy': 'The server takes fewer requests from here than this page needs right now; reload it in a moment.',
};

export function errorKindText(kind) {
  return KIND_TEXT[kind] ?? null;
}

// The error box: hidden unless there is a message.
export function renderError(box, message) {
  box.hidden = !message;
  box.textContent = message ?? '';
}

// A <progress> showing bytes of total; indeterminate while the total is unknown.
export function renderProgress(bar, bytes, total, known) {
  if (!known) {
    bar.removeAttribute('value');
    return;
  }
  bar.max = Math.max(total, 1);
  bar.value = total > 0 ? bytes : 1;
}
