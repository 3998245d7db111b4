// Replica factories for tests/data_parallel.test.ts: the same small models the
// test builds on the main thread (DataParallel builds one per replica thread).
import { nn } from "../../src/index.js";

export interface ModelArgs { kind?: "conv" | "bn" | "wide"; }

export function createModel(args: ModelArgs = {}): nn.Module {
  const kind = args.kind ?? "conv";
  if (kind === "bn")
    return new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 3));
  if (kind === "wide")
    return new nn.Sequential(new nn.Conv2d(1, 5, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(5 * 6 * 6, 3));
  return new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 3));
}

/** A factory that fails, to test the error path. */
export function broken(): nn.Module { throw new Error("no model today"); }

/** The conv model; replica 1's forward ends its thread (a replica that dies). */
export function exiting(_args: unknown, info: { index: number }): nn.Module {
  const model = createModel();
  if (info.index === 1) model.forward = () => process.exit(3);
  return model;
}

/** The conv model; replica 1's forward takes 3 s (a replica that does not answer in time). */
export function sleepy(_args: unknown, info: { index: number }): nn.Module {
  const model = createModel();
  if (info.index !== 1) return model;
  const forward = model.forward.bind(model);
  model.forward = (x: unknown) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000); return forward(x); };
  return model;
}
