/**
 * A cap on the headless Chromium renders one coordinator runs at once
 * (each is a browser process of a few hundred MB). Renders beyond the cap
 * wait their turn, first come first served; the job shows the step
 * `waiting-for-renderer` meanwhile.
 */
export class RenderSlots {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly max = 2) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('the number of concurrent renders must be a positive integer');
  }

  /** Renders running now. */
  get running(): number {
    return this.active;
  }

  /** Renders waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs `render` once a slot is free; `onWait` is called first if it has
   * to wait. The slot is freed when `render` settles.
   */
  async run<T>(render: () => Promise<T>, onWait?: () => void): Promise<T> {
    if (this.active >= this.max) {
      onWait?.();
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await render();
    } finally {
      const next = this.queue.shift();
      // The slot passes to the next waiter as it is; otherwise it is free.
      if (next) next();
      else this.active--;
    }
  }
}
