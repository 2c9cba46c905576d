// DOM helpers shared by both views.

// Replaces the content of `root` with a copy of the <template id=templateId> in index.html.
export function showTemplate(root, templateId) {
  root.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
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
