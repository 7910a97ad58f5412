import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import { onTopics } from './live';

/** A refresh the test finishes by hand. */
function gate() {
  const started: Array<() => void> = [];
  const refresh = () => new Promise<void>((resolve) => started.push(resolve));
  return { started, refresh };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('onTopics', () => {
  it('refreshes on its topics and on a resync, not on others', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    let count = 0;
    const stop = onTopics(backend, ['queue'], async () => {
      count += 1;
    });
    backend.announce({ topics: ['merchants', 'users'], resync: false });
    await tick();
    expect(count).toBe(0);
    backend.announce({ topics: ['merchants', 'queue'], resync: false });
    await tick();
    expect(count).toBe(1);
    backend.announce({ topics: [], resync: true });
    await tick();
    expect(count).toBe(2);
    stop();
    backend.announce({ topics: ['queue'], resync: false });
    await tick();
    expect(count).toBe(2);
  });

  it('follows a running refresh with one more, however many changes came meanwhile', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    const { started, refresh } = gate();
    onTopics(backend, ['queue'], refresh);
    backend.announce({ topics: ['queue'], resync: false });
    for (let i = 0; i < 5; i++) backend.announce({ topics: ['queue'], resync: false });
    await tick();
    expect(started).toHaveLength(1);
    started[0]();
    await tick();
    expect(started).toHaveLength(2);
    started[1]();
    await tick();
    expect(started).toHaveLength(2);
  });

  it('keeps listening after a refresh fails', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    let count = 0;
    onTopics(backend, ['queue'], async () => {
      count += 1;
      throw new Error('store out of reach');
    });
    backend.announce({ topics: ['queue'], resync: false });
    await tick();
    backend.announce({ topics: ['queue'], resync: false });
    await tick();
    expect(count).toBe(2);
  });
});
