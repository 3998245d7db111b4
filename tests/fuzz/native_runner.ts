// Runs the native-boundary fuzz cases (tests/fuzz/native_cases.ts) inside the
// fuzz child process. Each case makes its own small tensors and frees them; a
// case ends as "ok" (accepted), a FlareError, or something worse (which the
// harness classifies: another error, a crash, a hang, a memory blow-up).
import { Worker } from "node:worker_threads";
import * as torch from "../../src/index.js";
import { F } from "../../src/index.js";
import { native, op } from "../../src/tensor/native.js";
import { ops } from "../../src/vision/index.js";
import { safetensors } from "../../src/io/index.js";
import type { Case } from "./cases.js";
import type { NativeKind } from "./native_cases.js";

type T = torch.Tensor;
type Made = T[];

/** The value an argument token stands for (tensors go into `made`, freed after the case). */
function argValue(token: string, made: Made): unknown {
  const fresh = (t: T): T => { made.push(t); return t; };
  switch (token) {
    case "undefined": return undefined;
    case "null": return null;
    case "0": return 0;
    case "-1": return -1;
    case "1.5": return 1.5;
    case "NaN": return NaN;
    case "Infinity": return Infinity;
    case "1e300": return 1e300;
    case "2^53": return 2 ** 53;
    case "2^31": return 2 ** 40;  // (2^31 bytes could be allocated; 2^40 never is)
    case "true": return true;
    case "str": return "x";
    case "emptyStr": return "";
    case "dtypeStr": return "uint8";
    case "obj": return { a: 1 };
    case "arr": return [];
    case "arrNums": return [2, 3];
    case "arrNeg": return [-2, 3];
    case "arrLive": return [fresh(torch.randn([2, 3])).handle, fresh(torch.randn([2, 3])).handle];
    case "arrMixed": return [fresh(torch.randn([2, 3])).handle, "x", null];
    case "live": return fresh(torch.randn([2, 3])).handle;
    case "liveInt": return fresh(torch.tensor([0, 1, 5], { dtype: "int64" })).handle;
    case "liveBool": return fresh(torch.tensor([true, false])).handle;
    case "liveEmpty": return fresh(torch.zeros([0, 3])).handle;
    case "disposed": { const t = torch.randn([2]); t.dispose(); return t.handle; }
    case "u8": return new Uint8Array(12);
    case "u8big": return new Uint8Array(1 << 16);
    case "f32": return new Float32Array(6);
    case "bigint": return 12n;
    case "symbol": return Symbol("s");
    // A Proxy whose every property read throws: an array in shape, hostile in content.
    case "external": return new Proxy([1, 2], { get() { throw new Error("hostile getter"); } });
  }
  throw new Error(`native fuzz: unknown argument token ${token}`);
}

function restoreGlobals(threads: number): void {
  native.setGradEnabled(true);
  if (torch.getNumThreads() !== threads) torch.setNumThreads(threads);
}

async function rawCall(input: { fn: string; args: string[] }, made: Made): Promise<void> {
  const threads = torch.getNumThreads();
  try {
    const args = input.args.map((a) => argValue(a, made));
    const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[input.fn];
    const result = fn(...args);
    // Whatever came back as a handle is freed (it is ours now).
    for (const r of Array.isArray(result) ? result : [result])
      if (typeof r === "number" && (input.fn === "fromBuffer" || input.fn === "getRngState" || input.fn === "grad" || input.fn === "shareHandle" || input.fn === "exampleCube" || input.fn === "hwcToChw" || input.fn === "adjustHue" || input.fn === "nms" || input.fn === "batchedNms" || input.fn === "boxIou" || input.fn === "roiAlign" || input.fn === "roiPool" || input.fn === "call"))
        try { native.dispose(r as never); } catch { /* not a handle */ }
  } finally {
    restoreGlobals(threads);
  }
}

async function opCall(input: { name: string; overload: string; args: string[] }, made: Made): Promise<void> {
  const fn = op(input.name, input.overload);
  const result = fn(...input.args.map((a) => argValue(a, made)));
  for (const r of Array.isArray(result) ? result : [result]) if (typeof r === "number") { try { native.dispose(r as never); } catch { /* a number result */ } }
}

const r = (shape: number[]): T => torch.randn(shape);
const long = (values: number[]): T => torch.tensor(values, { dtype: "int64" });
/** An ATen op the Tensor class does not wrap, on tensors; its results are freed by the case's tidy(). */
function aten(name: string, overload = ""): (...args: unknown[]) => unknown {
  const fn = op(name, overload);
  return (...args) => {
    const result = fn(...args.map((a) => (a instanceof torch.Tensor ? a.handle : a)));
    for (const h of Array.isArray(result) ? result : [result]) if (typeof h === "number") new torch.Tensor(h as never);
    return result;
  };
}

/** Public-API misuse by name: each returns what it made (freed by the caller). */
const MISUSES: Record<string, () => unknown> = {
  // wrong dtypes
  "matmul-int-float": () => torch.tensor([[1, 2]], { dtype: "int64" }).matmul(r([2, 2])),
  "conv2d-uint8": () => F.conv2d(torch.zeros([1, 1, 4, 4], { dtype: "uint8" }), r([1, 1, 3, 3])),
  "softmax-int": () => long([1, 2, 3]).softmax(0),
  "sqrt-bool": () => torch.tensor([true, false]).sqrt(),
  "gather-float-index": () => r([3]).gather(0, r([2])),
  "index-float": () => r([3]).index(r([2])),
  "nms-int": () => ops.nms(torch.tensor([[0, 0, 1, 1]], { dtype: "int64" }), long([1]), 0.5),
  "roiAlign-int": () => ops.roiAlign(torch.zeros([1, 1, 4, 4], { dtype: "int64" }), torch.tensor([[0, 0, 0, 2, 2]]), 2),
  "mean-int": () => long([1, 2]).mean(),
  "cat-mixed": () => torch.cat([r([2]), long([1, 2])]),
  "embedding-float-index": () => aten("aten::embedding")(r([4, 3]), r([2])),
  "crossEntropy-float-target": () => F.crossEntropy(r([2, 3]), torch.tensor([0.5, 1.5])),
  "bincount-float": () => r([3]).bincount(),
  "scatter-float-index": () => r([3]).scatter(0, r([2]), r([2])),
  // dims out of range
  "sum-9": () => r([2, 3]).sum(9),
  "softmax-neg9": () => r([2, 3]).softmax(-9),
  "transpose-7": () => r([2, 3]).transpose(0, 7),
  "unsqueeze-9": () => r([2, 3]).unsqueeze(9),
  "flip-5": () => r([2, 3]).flip([5]),
  "narrow-past": () => r([2, 3]).narrow(1, 2, 5),
  "select-past": () => r([2, 3]).select(0, 7),
  "permute-dup": () => r([2, 3]).permute([0, 0]),
  "cat-dim-9": () => torch.cat([r([2]), r([2])], 9),
  "squeeze-9": () => r([2, 3]).squeeze(9),
  "topk-dim-9": () => r([2, 3]).topk(1, 9),
  "argmax-9": () => r([2, 3]).argmax(9),
  "cumsum-9": () => r([2, 3]).cumsum(9),
  "unbind-9": () => r([2, 3]).unbind(9),
  "chunk-0": () => r([2, 3]).chunk(0),
  "split-0": () => r([2, 3]).split(0),
  "view-bad": () => r([2, 3]).view(4, -1),
  "expand-bad": () => r([2, 3]).expand([5, 3]),
  "repeat-short": () => r([2, 3]).repeat([2]),
  "roll-dim-9": () => r([2, 3]).roll(1, 9),
  // empty tensors into reductions
  "max-empty": () => r([0]).max(),
  "min-empty": () => r([0]).min(),
  "argmax-empty": () => r([0]).argmax(),
  "amax-empty": () => r([0]).amax(),
  "topk-empty": () => r([0]).topk(1),
  "kthvalue-empty": () => aten("aten::kthvalue")(r([0]), 1),
  "median-empty": () => aten("aten::median")(r([0])),
  "mode-empty": () => aten("aten::mode")(r([0, 2]), 0),
  "std-empty": () => r([0]).std(),
  "prod-empty": () => r([0]).prod(),
  "logsumexp-empty": () => r([0]).logsumexp(0),
  "softmax-empty": () => r([0, 3]).softmax(0),
  "nms-empty": () => ops.nms(torch.zeros([0, 4]), torch.zeros([0]), 0.5),
  "item-empty": () => r([0]).item(),
  "unique-empty": () => r([0]).unique(),
  "sort-empty": () => r([0]).sort(),
  "max-dim-empty": () => r([0, 3]).max(0),
  "mean-empty": () => r([0]).mean(),
  // indices out of range
  "index-past": () => r([3]).index(7),
  "index-neg-past": () => r([3]).index(long([-9])),
  "indexSelect-past": () => r([3]).indexSelect(0, long([5])),
  "gather-past": () => r([3]).gather(0, long([9])),
  "scatter-past": () => r([3]).scatter(0, long([9]), r([1])),
  "scatterAdd-past": () => r([3]).scatterAdd(0, long([-9]), r([1])),
  "indexPut-past": () => { const x = r([3]); made.push(x); return x.indexPut_([long([9])], r([1])); },
  "indexPut-mask-shape": () => { const x = r([3]); made.push(x); return x.indexPut_([torch.tensor([true, false])], r([1])); },
  "embedding-past": () => aten("aten::embedding")(r([4, 3]), long([9])),
  "take-past": () => aten("aten::take")(r([3]), long([9])),
  "indexAdd-past": () => { const x = r([3]); made.push(x); return x.indexAdd_(0, long([9]), r([1])); },
  "maskedFill-shape": () => r([3]).maskedFill(torch.tensor([true, false]), 1),
  "bincount-neg": () => long([-1, 2]).bincount(),
  "oneHot-past": () => F.oneHot(long([5]), 3),
  "nllLoss-past": () => F.nllLoss(r([2, 3]), long([0, 7])),
};
let made: Made = [];

/** A complex64 tensor made by libtorch (view_as_complex of [2, 2] float pairs). */
function complexTensor(): T {
  const pairs = torch.tensor([[1, 2], [3, 4]]);
  made.push(pairs);
  return new torch.Tensor(op("aten::view_as_complex")(pairs.handle) as never);
}

const COMPLEX: Record<string, (z: T) => unknown> = {
  // (the string conversion is what printing does)
  data: (z) => z.dataSync(),
  toString: (z: T) => z.toString(),
  item: (z) => z.index(0).item(),
  toArray: (z) => z.tolist(),
  abs: (z) => { const a = z.abs(); const v = a.dataSync(); a.dispose(); return v; },
  viewAsReal: (z) => { const v = new torch.Tensor(op("aten::view_as_real")(z.handle) as never); const d = v.dataSync(); v.dispose(); return d; },
  add: (z) => z.add(z),
  sum: (z) => z.sum(),
  save: (z) => safetensors.serialize({ z }),
  "fft-data": () => { const f = new torch.Tensor(op("aten::fft_fft")(r([4]).handle) as never); made.push(f); return f.dataSync(); },
};

const HUGE: Record<string, () => unknown> = {
  "zeros-1e12": () => torch.zeros([1e12]),
  "empty-2^40": () => torch.empty([2 ** 40]),
  "ones-huge-2d": () => torch.ones([1e6, 1e6]),
  "randn-huge": () => torch.randn([2 ** 20, 2 ** 20, 4]),
  "full-huge": () => torch.full([1e7, 1e7], 1),
  "zeros-overflow": () => torch.zeros([2 ** 40, 2 ** 40]),
  "arange-huge": () => torch.arange(0, 1e15),
  "expand-contiguous": () => { const x = r([1, 1]); made.push(x); const e = x.expand([1e6, 1e6]); made.push(e); return e.contiguous(); },
  "fromTypedArray-huge": () => torch.fromTypedArray(new Float32Array(4), [1e6, 1e6]),
  "repeat-huge": () => r([2, 2]).repeat([1e6, 1e6]),
  "matmul-huge-out": () => { const a = r([1e5, 1]); const b = r([1, 1e5]); made.push(a, b); return a.matmul(b); },
};

/**
 * Releases a tensor to a worker that adopts it and computes with it for a while,
 * then uses the released wrapper on this thread: must be a FlareError, never a race.
 */
async function transfer(what: string): Promise<void> {
  const url = new URL("../../src/index.js", import.meta.url).href;
  const worker = new Worker(`
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(url)}).then((torch) => {
      parentPort.on("message", (h) => {
        const t = torch.adopt(h);
        parentPort.postMessage("adopted");
        let acc = torch.zeros([64, 64]);
        for (let i = 0; i < 40; i++) torch.tidy(() => { const next = acc.add(t.matmul(t)); acc.dispose(); acc = torch.keep(next); });
        const back = acc.clone();
        acc.dispose(); t.dispose();
        parentPort.postMessage({ done: back.release() });
      });
      parentPort.postMessage("ready");
    });`, { eval: true });
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  worker.on("message", (m) => { const w = waiters.shift(); if (w) w(m); else messages.push(m); });
  const errored = new Promise<never>((_, reject) => worker.on("error", reject));
  const next = (): Promise<unknown> => Promise.race([messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiters.push(resolve)), errored]);
  try {
    await next();  // ready
    const t = torch.randn([64, 64]);
    const h = t.release();
    worker.postMessage(h);
    await next();  // adopted: the worker owns it and is computing
    let failure: unknown;
    try {
      switch (what) {
        case "add": t.add(1); break;
        case "setData": t.setData(torch.zeros([64, 64])); break;
        case "dispose": t.dispose(); native.dispose(h); break;
        case "shape": void t.shape; break;
        case "data": t.dataSync(); break;
        case "item": t.sum().item(); break;
        case "backward": t.requiresGrad_(true); break;
        case "keep-after-adopt": torch.keep(t).mul(2); break;
        case "readopt": torch.adopt(h); break;
        case "release-twice": t.release(); break;
        case "clone-in-worker": break;
      }
    } catch (error) { failure = error; }
    const done = await next() as { done: number };
    const back = torch.adopt(done.done);
    const sum = back.sum().item();
    back.dispose();
    if (!Number.isFinite(sum)) throw new Error(`the worker's result is ${sum}`);
    if (failure !== undefined) throw failure;
  } finally {
    await worker.terminate();
  }
}

export async function runNative(c: Case): Promise<void> {
  const input = c.input as Record<string, unknown>;
  made = [];
  try {
    const kind = c.kind as NativeKind;
    if (kind === "raw-call") return await rawCall(input as never, made);
    if (kind === "op-call") return await opCall(input as never, made);
    if (kind === "transfer") return await transfer(input.what as string);
    const what = input.what as string;
    const fn = kind === "complex" ? () => COMPLEX[what](complexTensor()) : kind === "oom" ? HUGE[what] : MISUSES[what];
    if (!fn) throw new Error(`native fuzz: no case ${kind}:${what}`);
    torch.tidy(() => { fn(); });
  } finally {
    for (const t of made) { try { t.dispose(); } catch { /* transferred or gone */ } }
    made = [];
  }
}
