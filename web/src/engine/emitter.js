// Minimal event emitter shared by the engine modules (listeners get one plain value, not an Event).
export class Emitter {
  #listeners = new Map();

  // Returns a function that removes the listener.
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.#listeners.get(type).delete(listener);
  }

  emit(type, value) {
    // Copy: a listener may remove itself while we iterate.
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(value);
  }
}
