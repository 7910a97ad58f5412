import type { Backend, Topic } from '../backend/types';

/**
 * Calls `refresh` when Rust says one of `topics` changed (another desk took, decided, boarded or
 * edited; or this desk's own background work did). A refresh already running is followed by one
 * more when it ends, never by a pile of them. Returns the function that stops listening (hand it
 * to `$effect` as its cleanup).
 */
export function onTopics(backend: Backend, topics: readonly Topic[], refresh: () => Promise<unknown>): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          await refresh();
        } catch {
          // The page shows its own error; the next change tries again.
        }
      } while (again);
    } finally {
      running = false;
    }
  };
  return backend.onChanged((changes) => {
    if (changes.resync || changes.topics.some((t) => topics.includes(t))) void run();
  });
}
