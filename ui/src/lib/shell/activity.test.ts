import { describe, expect, it, vi } from 'vitest';
import { ActivityTracker, TOUCH_EVERY_MS } from './activity';

describe('ActivityTracker', () => {
  it('touches the session at most once per interval of activity', async () => {
    let now = 1_000_000;
    const touch = vi.fn(async () => ({}));
    const tracker = new ActivityTracker(touch, async () => ({}), () => undefined, () => now);
    tracker.active();
    tracker.active();
    now += TOUCH_EVERY_MS - 1;
    tracker.active();
    expect(touch).toHaveBeenCalledTimes(1);
    now += 1;
    tracker.active();
    expect(touch).toHaveBeenCalledTimes(2);
  });

  it('reports a session that Rust locked on its own', async () => {
    vi.useFakeTimers();
    const statuses: boolean[] = [];
    const tracker = new ActivityTracker(async () => ({}), async () => null, (s) => statuses.push(s));
    tracker.start(1000);
    await vi.advanceTimersByTimeAsync(1000);
    tracker.stop();
    vi.useRealTimers();
    expect(statuses).toEqual([false]);
  });
});
