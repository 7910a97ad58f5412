// Keeps Rust's idle timer honest about activity that makes no backend call (reading, scrolling),
// and notices when Rust has locked the session on its own.

/** Touches at most once per this many milliseconds of continuous activity. */
export const TOUCH_EVERY_MS = 30_000;

export class ActivityTracker {
  private lastTouch = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly touch: () => Promise<unknown>,
    private readonly poll: () => Promise<unknown>,
    private readonly onStatus: (signedIn: boolean) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Call on user input. */
  active(): void {
    const t = this.now();
    if (t - this.lastTouch < TOUCH_EVERY_MS) return;
    this.lastTouch = t;
    this.touch().then(
      (s) => this.onStatus(s !== null),
      () => undefined,
    );
  }

  start(pollMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      this.poll().then(
        (s) => this.onStatus(s !== null),
        () => undefined,
      );
    }, pollMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
