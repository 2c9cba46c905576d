// The "relay only" choice, kept in this browser. Returns what the engine asks whenever it makes a
// link (Swarm's settings.relayOnly), so a change applies to the links made after it. A page (or a
// test) may set globalThis.swarmdropRelayOnly before this script runs; the choice is mirrored
// there, as the engine's state is in window.swarmdrop.
const STORAGE_KEY = 'swarmdrop.relayOnly';

export function mountRelayOption(checkbox) {
  globalThis.swarmdropRelayOnly ||= localStorage.getItem(STORAGE_KEY) === '1';
  checkbox.checked = globalThis.swarmdropRelayOnly;
  checkbox.addEventListener('change', () => {
    globalThis.swarmdropRelayOnly = checkbox.checked;
    localStorage.setItem(STORAGE_KEY, checkbox.checked ? '1' : '0');
  });
  return () => checkbox.checked;
}
