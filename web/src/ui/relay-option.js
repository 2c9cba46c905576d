// The "relay only" choice, kept in this browser. The engine reads globalThis.swarmdropRelayOnly
// whenever it makes a link, so a change applies to the links made after it.
const STORAGE_KEY = 'swarmdrop.relayOnly';

export function mountRelayOption(checkbox) {
  // A page (or a test) may have set it before this script ran.
  globalThis.swarmdropRelayOnly ||= localStorage.getItem(STORAGE_KEY) === '1';
  checkbox.checked = globalThis.swarmdropRelayOnly;
  checkbox.addEventListener('change', () => {
    globalThis.swarmdropRelayOnly = checkbox.checked;
    localStorage.setItem(STORAGE_KEY, checkbox.checked ? '1' : '0');
  });
}
