/** Turning a process's stdout chunks into lines that a conversation awaits one at a time. */

/** Takes chunks in; hands whole lines out, in order, to whoever awaits line(). */
export class LineFeed {
  private partial = '';
  private readonly queued: string[] = [];
  private readonly waiting: Array<(line: string | undefined) => void> = [];
  private ended = false;

  /** Lines until (and including) the first one equal to `gate` are dropped; without a gate none are. */
  constructor(
    private gate?: string,
    private readonly onGate?: () => void,
  ) {}

  push(chunk: string): void {
    this.partial += chunk;
    for (let at = this.partial.indexOf('\n'); at >= 0; at = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, at);
      this.partial = this.partial.slice(at + 1);
      this.deliver(line);
    }
  }

  /** stdout has ended: a last line without a newline still counts; waiters then get undefined. */
  close(): void {
    if (this.ended) return;
    if (this.partial !== '') this.deliver(this.partial);
    this.partial = '';
    this.ended = true;
    for (const w of this.waiting.splice(0)) w(undefined);
  }

  /** The next line; undefined once stdout has ended and every line was taken. */
  line(): Promise<string | undefined> {
    const l = this.queued.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private deliver(line: string): void {
    if (this.gate !== undefined) {
      if (line === this.gate) {
        this.gate = undefined;
        this.onGate?.();
      }
      return;
    }
    const w = this.waiting.shift();
    if (w) w(line);
    else this.queued.push(line);
  }
}
