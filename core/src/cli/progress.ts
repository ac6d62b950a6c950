/** A one-line progress report on stderr (bytes, total, rate), redrawn at most every 200 ms; silent when not a TTY unless forced. */
export class ByteProgress {
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #live: boolean;
  #done = 0;
  #lastDraw = 0;

  constructor(label: string, total: number, live = process.stderr.isTTY === true) {
    this.#label = label;
    this.#total = total;
    this.#live = live;
  }

  add(bytes: number): void {
    this.#done += bytes;
    const now = performance.now();
    if (this.#live && now - this.#lastDraw > 200) {
      this.#lastDraw = now;
      process.stderr.write(`\r${this.#line()}`);
    }
  }

  finish(suffix = ''): void {
    process.stderr.write(`${this.#live ? '\r' : ''}${this.#line()}${suffix}\n`);
  }

  #line(): string {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const percent = this.#total > 0 ? ` ${((100 * this.#done) / this.#total).toFixed(0).padStart(3)}%` : '';
    return `${this.#label}${percent}  ${formatBytes(this.#done)} / ${formatBytes(this.#total)}  ${formatBytes(rate)}/s`;
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
