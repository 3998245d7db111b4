// Progress output: a bar on a terminal, plain lines elsewhere, JSON lines for
// machines (--json), or nothing.
export type OutputMode = "auto" | "tty" | "plain" | "json" | "silent";

export interface Progress {
  step(epoch: number, batch: number, batches: number | undefined, values: Record<string, number>): void;
  epoch(epoch: number, values: Record<string, number>): void;
  message(text: string): void;
}

const fmt = (values: Record<string, number>) =>
  Object.entries(values).map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)}`).join("  ");

export function makeProgress(mode: OutputMode, stream: NodeJS.WriteStream = process.stdout): Progress {
  const resolved = mode === "auto" ? (stream.isTTY ? "tty" : "plain") : mode;
  if (resolved === "silent") return { step() {}, epoch() {}, message() {} };
  if (resolved === "json") {
    const line = (o: object) => stream.write(JSON.stringify(o) + "\n");
    return {
      step: (epoch, batch, batches, values) => line({ event: "step", epoch, batch, batches, ...values }),
      epoch: (epoch, values) => line({ event: "epoch", epoch, ...values }),
      message: (text) => line({ event: "message", text }),
    };
  }
  if (resolved === "plain") {
    let lastPrinted = 0;
    return {
      step: (epoch, batch, batches, values) => {
        const now = Date.now();
        if (now - lastPrinted < 2000 && batch !== batches) return; // a line every 2 s at most
        lastPrinted = now;
        stream.write(`epoch ${epoch + 1} batch ${batch}${batches ? `/${batches}` : ""}  ${fmt(values)}\n`);
      },
      epoch: (epoch, values) => stream.write(`epoch ${epoch + 1} done  ${fmt(values)}\n`),
      message: (text) => stream.write(text + "\n"),
    };
  }
  return {
    step: (epoch, batch, batches, values) => {
      const width = 30;
      const bar = batches ? "#".repeat(Math.round((batch / batches) * width)).padEnd(width, ".") : "";
      stream.write(`\repoch ${epoch + 1} [${bar}] ${batch}${batches ? `/${batches}` : ""}  ${fmt(values)}\x1b[K`);
    },
    epoch: (epoch, values) => stream.write(`\repoch ${epoch + 1} done  ${fmt(values)}\x1b[K\n`),
    message: (text) => stream.write(`\r${text}\x1b[K\n`),
  };
}
