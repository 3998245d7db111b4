// The replica factory of bench/data_parallel.ts: a small convnet for 28x28
// images. The replica whose index is `slowIndex` stands for a slower device:
// its forward sleeps `slowMsPerSample` per sample first (Atomics.wait, which
// uses no CPU, as a slower GPU would not take the other device's cores).
import { nn } from "../src/index.js";
import type { Tensor } from "../src/index.js";

export interface BenchModelArgs { slowIndex?: number; slowMsPerSample?: number }

const sleeper = new Int32Array(new SharedArrayBuffer(4));

class SlowSequential extends nn.Sequential {
  constructor(private readonly msPerSample: number, ...layers: nn.Module[]) { super(...layers); }
  override forward<T = unknown>(input: T): T {
    Atomics.wait(sleeper, 0, 0, this.msPerSample * (input as Tensor).shape[0]);
    return super.forward(input);
  }
}

export function createModel(args: BenchModelArgs = {}, info: { index: number } = { index: 0 }): nn.Module {
  const layers = [
    new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10)];
  if (args.slowIndex === info.index && (args.slowMsPerSample ?? 0) > 0) return new SlowSequential(args.slowMsPerSample!, ...layers);
  return new nn.Sequential(...layers);
}
