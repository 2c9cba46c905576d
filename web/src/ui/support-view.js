// The page of a browser that lacks an essential (engine/support.js): it says what and what to do,
// and nothing starts. Returns what main.js publishes: its state as window.swarmdrop, and metrics()
// (window.swarmdropMetrics) answering null, as nothing is recorded.
import { missingEssentialText } from './support-words.js';

export function mountUnsupportedView(root, missing) {
  const card = document.createElement('section');
  card.className = 'card';
  const message = document.createElement('p');
  message.id = 'unsupported';
  message.className = 'error';
  message.setAttribute('role', 'alert');
  message.textContent = missingEssentialText(missing);
  card.append(message);
  root.replaceChildren(card);
  return { state: { role: null, phase: 'unsupported', missing }, metrics: () => null };
}
