// Progress output: a bar on a terminal (percent, rate, ETA), plain lines
// elsewhere, JSON lines for machines (--json), or nothing.
export type OutputMode = "auto" | "tty" | "plain" | "json" | "silent";

export interface Progress {
  /** A pass begins (training, or validation after it); `batches` is undefined when the data does not know its length. */
  start(epoch: number, epochs: number, batches: number | undefined, phase?: "train" | "val"): void;
  /** After batch number `batch` (1-based) of the epoch. */
  step(batch: number, values: Record<string, number>): void;
  epoch(epoch: number, values: Record<string, number>): void;
  message(text: string): void;
}

/** Where progress goes: process.stdout, or anything with write() (and isTTY). */
export interface ProgressStream { write(text: string): unknown; isTTY?: boolean }

const fmt = (values: Record<string, number>) =>
  Object.entries(values).map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)}`).join("  ");

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

/** The counters every mode shares: batches done, the total, the rate, the time left. */
class Clock {
  epoch = 0; epochs = 1; total: number | undefined; started = 0; phase: "train" | "val" = "train";
  constructor(private readonly now: () => number) {}
  start(epoch: number, epochs: number, total: number | undefined, phase: "train" | "val" = "train") {
    this.epoch = epoch; this.epochs = epochs; this.total = total; this.phase = phase; this.started = this.now();
  }
  elapsed(): number { return (this.now() - this.started) / 1000; }
  rate(batch: number): number { const t = this.elapsed(); return t > 0 ? batch / t : NaN; }
  eta(batch: number): number { return this.total === undefined ? NaN : (this.total - batch) / this.rate(batch); }
  head(): string { return `epoch ${this.epoch + 1}/${this.epochs}${this.phase === "val" ? " val" : ""}`; }
}

export function makeProgress(mode: OutputMode, stream: ProgressStream = process.stdout, now: () => number = () => performance.now()): Progress {
  const resolved = mode === "auto" ? (stream.isTTY ? "tty" : "plain") : mode;
  const clock = new Clock(now);
  const start = (epoch: number, epochs: number, batches: number | undefined, phase?: "train" | "val") => clock.start(epoch, epochs, batches, phase);
  if (resolved === "silent") return { start, step() {}, epoch() {}, message() {} };
  if (resolved === "json") {
    const line = (o: object) => stream.write(JSON.stringify(o) + "\n");
    return {
      start,
      // Training steps only: a validation pass reports once, in the epoch line.
      step: (batch, values) => { if (clock.phase === "train") line({ event: "step", epoch: clock.epoch, batch, batches: clock.total ?? null, ...values }); },
      epoch: (epoch, values) => line({ event: "epoch", epoch, ...values }),
      message: (text) => line({ event: "message", text }),
    };
  }
  const counts = (batch: number) => {
    const t = clock.total;
    const rate = clock.rate(batch);
    return `${t ? `${String(Math.floor((100 * batch) / t)).padStart(3)}% ${batch}/${t}` : `${batch}`}  ` +
      `${Number.isFinite(rate) ? rate.toFixed(rate >= 10 ? 1 : 2) : "?"} it/s  ${t ? `ETA ${formatDuration(clock.eta(batch))}` : `${formatDuration(clock.elapsed())}`}`;
  };
  if (resolved === "plain") {
    let lastPrinted = -Infinity;
    return {
      start: (epoch, epochs, batches, phase) => { start(epoch, epochs, batches, phase); lastPrinted = now(); },
      step: (batch, values) => {
        const t = now();
        if (t - lastPrinted < 2000 && batch !== clock.total) return; // a line every 2 s at most
        lastPrinted = t;
        stream.write(`${clock.head()}  ${counts(batch)}  ${fmt(values)}\n`);
      },
      epoch: (epoch, values) => stream.write(`epoch ${epoch + 1} done  ${fmt(values)}\n`),
      message: (text) => stream.write(text + "\n"),
    };
  }
  let lastDrawn = -Infinity;
  return {
    start,
    step: (batch, values) => {
      const t = now();
      if (t - lastDrawn < 100 && batch !== clock.total) return; // redraw at most 10 times a second
      lastDrawn = t;
      const width = 24;
      const bar = clock.total ? `[${"#".repeat(Math.min(width, Math.round((batch / clock.total) * width))).padEnd(width, ".")}] ` : "";
      stream.write(`\r${clock.head()} ${bar}${counts(batch)}  ${fmt(values)}\x1b[K`);
    },
    epoch: (epoch, values) => stream.write(`\repoch ${epoch + 1} done  ${fmt(values)}\x1b[K\n`),
    message: (text) => stream.write(`\r${text}\x1b[K\n`),
  };
}
