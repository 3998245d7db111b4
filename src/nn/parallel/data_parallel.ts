// nn.parallel.DataParallel: one process, a replica of the model per device,
// each on its own thread (PyTorch's DataParallel; d2l 13.6).
//
// A JS module cannot be copied to another thread, so each replica is built in
// a worker thread by the user's factory (`replicaModule`, an ES module whose
// createModel(args, {device, index}) returns the same architecture). Then, per
// forward(): the batch is split along dim 0 by `splits`; every replica takes
// the master's current parameters and buffers (by handle: no copy on the
// same device), runs its shard in parallel and keeps its graph; the outputs
// are gathered on the output device into one tensor. That tensor is a leaf with
// a gradient hook: when loss.backward() reaches it, the hook hands each replica
// its slice of the gradient, the replicas run their backward in parallel, and
// their parameter gradients are summed into the master's .grad. So the
// PyTorch loop works unchanged: `loss = lossFn(dp.forward(x), y);
// loss.backward(); opt.step()` with opt over the original model's parameters.
//
// The main thread waits for the replicas synchronously (Atomics.wait, then
// receiveMessageOnPort), because forward() and backward() are synchronous.
//
// Limits (documented, checked): forward arguments are Tensors (split along dim
// 0) or plain numbers / strings / booleans (given to every replica); the
// output is one Tensor; no gradient flows back to the inputs; each replica
// keeps only its latest forward's graph (backward once per forward, as
// training loops do).
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import { Tensor, adopt, cat, isGradEnabled, noGrad, tidy } from "../../tensor/index.js";
import { Module } from "../module.js";
import type { FromReplica, ReplicaSetup, ToReplica } from "./data_parallel_worker.js";

export interface DataParallelOptions {
  /** One replica per device: "cpu:0", "cpu:1" (CPU workers, each its own thread) or "cuda:0", "cuda:1". */
  devices?: string[];
  /** Shorthand for devices: ["cpu:0", ..., "cpu:{workers-1}"]. */
  workers?: number;
  /** The share of each batch per device ([0.6, 0.4]), or "auto": measured per device (time per sample) over the warm-up steps. Default: equal. */
  splits?: number[] | "auto";
  /** Where the gathered output goes. Default: the first device. */
  outputDevice?: string;
  /** Path or URL of the ES module that builds a replica: its `replicaExport` (default createModel) is called as fn(replicaArgs, {device, index}). */
  replicaModule: string | URL;
  replicaExport?: string;
  /** Structured-clone data for the factory. */
  replicaArgs?: unknown;
  /** splits "auto": the training steps (forward + backward) measured before the splits are set; the first one is not counted. Default 3. */
  warmupSteps?: number;
  /** How long to wait for a replica's answer to forward or backward before failing (start-up waits at least 120 s). Default 300000 ms. */
  timeoutMs?: number;
}

export interface ReplicaTiming { device: string; samples: number; forwardMs: number; backwardMs: number }

const OPTIONS = ["devices", "workers", "splits", "outputDevice", "replicaModule", "replicaExport", "replicaArgs", "warmupSteps", "timeoutMs"] as const;
const DEVICE = /^(cpu|cuda)(:\d+)?$/;
const TAG = "__flareTensor";

interface Replica {
  device: string;
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

function moduleUrl(spec: string | URL): string {
  if (spec instanceof URL) return spec.href;
  if (/^(file|data):/.test(spec)) return spec;
  return pathToFileURL(path.resolve(spec)).href;
}

/** Shard sizes that sum to `batch`, proportional to `ratios` (largest remainders get the leftovers). */
export function shardSizes(batch: number, ratios: readonly number[]): number[] {
  const total = ratios.reduce((a, b) => a + b, 0);
  const exact = ratios.map((r) => (batch * r) / total);
  const sizes = exact.map(Math.floor);
  let left = batch - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) { if (left <= 0) break; sizes[i]++; left--; }
  return sizes;
}

export class DataParallel extends Module {
  /** The wrapped model (PyTorch's `dp.module`): its parameters are the ones to optimise. */
  declare module: Module;
  readonly devices: string[];
  readonly outputDevice: string;
  #replicas: Replica[] = [];
  #ratios: number[];
  #auto: boolean;
  #warmup: number;
  #timeoutMs: number;
  #calls = 0;
  #steps = 0;
  // Per device, over the counted warm-up steps: milliseconds and samples.
  #measured: { ms: number; samples: number }[];
  #closed = false;
  #timings: ReplicaTiming[] = [];
  #lost = false;

  constructor(module: Module, options: DataParallelOptions) {
    super();
    if (!(module instanceof Module)) throw new FlareError(`DataParallel(): module must be an nn.Module, got ${module === null ? "null" : typeof module}`, "E_TYPE");
    const o = checkOptions(options, OPTIONS, "DataParallel()");
    if (!o || o.replicaModule === undefined)
      throw new FlareError("DataParallel(): options.replicaModule is required: the path or URL of an ES module whose createModel(args, {device, index}) builds the same model in each replica's thread (a JS module cannot be copied to another thread)", "E_ARGUMENT");
    if (typeof o.replicaModule !== "string" && !(o.replicaModule instanceof URL))
      throw new FlareError("DataParallel(): replicaModule must be a path or a URL", "E_TYPE");
    if (o.devices !== undefined && o.workers !== undefined) throw new FlareError("DataParallel(): give devices or workers, not both", "E_ARGUMENT");
    let devices: string[];
    if (o.workers !== undefined) {
      if (!Number.isInteger(o.workers) || o.workers < 1) throw new FlareError(`DataParallel(): workers must be a positive integer, got ${String(o.workers)}`, "E_ARGUMENT");
      devices = Array.from({ length: o.workers }, (_, i) => `cpu:${i}`);
    } else {
      if (!Array.isArray(o.devices) || o.devices.length === 0) throw new FlareError("DataParallel(): devices must be a non-empty array of device strings (\"cpu:0\", \"cuda:1\"), or give workers: N", "E_ARGUMENT");
      devices = o.devices.map((d, i) => {
        if (typeof d !== "string" || !DEVICE.test(d)) throw new FlareError(`DataParallel(): devices[${i}] must be "cpu:N" or "cuda:N", got ${JSON.stringify(d)}`, "E_DEVICE");
        return d;
      });
      if (new Set(devices).size !== devices.length) throw new FlareError(`DataParallel(): devices has duplicates: ${devices.join(", ")}`, "E_DEVICE");
    }
    const splits = o.splits ?? devices.map(() => 1);
    if (splits === "auto") {
      this.#auto = true;
      this.#ratios = devices.map(() => 1 / devices.length);
    } else {
      if (!Array.isArray(splits) || splits.length !== devices.length || splits.some((s) => typeof s !== "number" || !Number.isFinite(s) || s < 0) || splits.every((s) => s === 0))
        throw new FlareError(`DataParallel(): splits must be "auto" or ${devices.length} non-negative numbers (one per device, not all 0), got ${JSON.stringify(splits)}`, "E_ARGUMENT");
      this.#auto = false;
      const total = splits.reduce((a, b) => a + b, 0);
      this.#ratios = splits.map((s) => s / total);
    }
    this.#warmup = o.warmupSteps ?? 3;
    if (!Number.isInteger(this.#warmup) || this.#warmup < 2) throw new FlareError(`DataParallel(): warmupSteps must be an integer >= 2 (the first step is not counted), got ${String(o.warmupSteps)}`, "E_ARGUMENT");
    this.#timeoutMs = o.timeoutMs ?? 300_000;
    if (typeof this.#timeoutMs !== "number" || !(this.#timeoutMs > 0)) throw new FlareError(`DataParallel(): timeoutMs must be a positive number, got ${String(o.timeoutMs)}`, "E_ARGUMENT");
    const exportName = o.replicaExport ?? "createModel";
    if (typeof exportName !== "string") throw new FlareError("DataParallel(): replicaExport must be a string", "E_TYPE");
    this.outputDevice = o.outputDevice ?? devices[0];
    if (typeof this.outputDevice !== "string" || !DEVICE.test(this.outputDevice)) throw new FlareError(`DataParallel(): outputDevice must be "cpu:N" or "cuda:N", got ${JSON.stringify(this.outputDevice)}`, "E_DEVICE");
    this.devices = devices;
    this.#measured = devices.map(() => ({ ms: 0, samples: 0 }));
    this.module = module;
    this.#start(moduleUrl(o.replicaModule), exportName, o.replicaArgs);
  }

  /** The current share of each batch per device (after "auto" tuning, the measured one). */
  get splits(): number[] { return [...this.#ratios]; }
  /** Each busy replica's share and time (on its own thread) in the latest training step: to see the balance, and what the step spends outside the replicas. */
  get timings(): ReplicaTiming[] { return this.#timings.map((t) => ({ ...t })); }
  /** Whether "auto" splits are still being measured. */
  get tuning(): boolean { return this.#auto && this.#steps < this.#warmup; }

  #start(url: string, exportName: string, args: unknown): void {
    const sig = ([n, t]: [string, Tensor]) => `${n} [${t.shape.join(", ")}]`;
    const masterParams = this.module.namedParameters().map(sig), masterBuffers = this.module.namedBuffers().map(sig);
    for (const [index, device] of this.devices.entries()) {
      const { port1, port2 } = new MessageChannel();
      const signal = new SharedArrayBuffer(4);
      const torchDevice = device.startsWith("cpu") ? "cpu" : device;
      const setup: ReplicaSetup = { module: url, exportName, args, device: torchDevice, index, port: port2, signal };
      const worker = new Worker(new URL("./data_parallel_worker.js", import.meta.url), { workerData: setup, transferList: [port2] });
      // The replicas must not keep the process alive; close() ends them.
      worker.unref();
      this.#replicas.push({ device, worker, port: port1, signal: new Int32Array(signal) });
    }
    // Starting threads and importing modules on a loaded machine can take a while.
    const answers = this.#replicas.map((_, i) => this.#receive(i, "start", null, Math.max(this.#timeoutMs, 120_000)));
    const failed = answers.find((a) => a.type === "error");
    if (failed) { this.close(); throw this.#error(failed, answers.indexOf(failed)); }
    for (const [i, a] of answers.entries()) {
      const ready = a as Extract<FromReplica, { type: "ready" }>;
      const mismatch = (mine: string[], theirs: string[], what: string) => {
        if (mine.length === theirs.length && mine.every((n, k) => n === theirs[k])) return;
        const k = mine.findIndex((n, j) => n !== theirs[j]);
        this.close();
        throw new FlareError(`DataParallel(): the replica on ${this.devices[i]} has other ${what} than the module (${mine.length} vs ${theirs.length}; first difference: ${JSON.stringify(mine[k] ?? null)} vs ${JSON.stringify(theirs[k] ?? null)}): replicaModule must build the same architecture`, "E_ARGUMENT");
      };
      mismatch(masterParams, ready.params, "parameters");
      mismatch(masterBuffers, ready.buffers, "buffers");
    }
  }

  // Blocks until replica i answers request `id` (see the worker's reply()).
  // Answers to an earlier request (one that failed or timed out) are dropped,
  // their tensors freed. A replica that is gone or silent marks this
  // DataParallel lost: #collect() closes it.
  #receive(i: number, what: string, id: number | null, timeoutMs = this.#timeoutMs): FromReplica {
    if (this.#closed) return { type: "error", message: "DataParallel was closed", code: "E_STATE" };
    const r = this.#replicas[i];
    const deadline = Date.now() + timeoutMs;
    // The caller closes once every replica answered, so no answer's tensors are left behind.
    const lost = (message: string): FromReplica => {
      this.#lost = true;
      return { type: "error", message: `${message}; DataParallel is closed`, code: "E_STATE" };
    };
    for (;;) {
      const got = receiveMessageOnPort(r.port);
      if (got) {
        const m = got.message as FromReplica;
        if (id === null || !("id" in m) || m.id === undefined || m.id === id) return m;
        for (const h of m.type === "output" ? [m.output] : m.type === "grads" ? m.grads : []) if (h !== null) adopt(h).dispose();
        Atomics.store(r.signal, 0, 0);
        continue;
      }
      if (Atomics.load(r.signal, 0) === 2) return lost(`its thread exited during ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) return lost(`no answer to ${what} within ${timeoutMs} ms`);
      Atomics.wait(r.signal, 0, 0, Math.min(left, 1000));
    }
  }

  #collect(replicas: number[], what: string, id: number): FromReplica[] {
    const answers = replicas.map((i) => this.#receive(i, what, id));
    if (this.#lost) this.close();
    return answers;
  }

  #post(i: number, message: ToReplica): void {
    Atomics.store(this.#replicas[i].signal, 0, 0);
    this.#replicas[i].port.postMessage(message);
  }

  #error(answer: FromReplica, i: number): FlareError {
    const a = answer as Extract<FromReplica, { type: "error" }>;
    return new FlareError(`DataParallel: the replica on ${this.devices[i]} failed: ${a.message}`, (a.code as FlareError["code"] | undefined) ?? "E_INTERNAL");
  }

  #live(): void {
    if (this.#closed) throw new FlareError("DataParallel: it was closed (close() or dispose())", "E_STATE");
  }

  override forward(...args: unknown[]): Tensor {
    this.#live();
    const tensors = args.filter((a): a is Tensor => a instanceof Tensor);
    if (tensors.length === 0) throw new FlareError("DataParallel.forward(): needs at least one Tensor argument to split along dim 0", "E_ARGUMENT");
    for (const [k, a] of args.entries()) {
      if (a instanceof Tensor) {
        if (a.dim() === 0) throw new FlareError(`DataParallel.forward(): argument ${k} is a 0-d tensor; tensors are split along dim 0`, "E_SHAPE");
        if (a.shape[0] !== tensors[0].shape[0]) throw new FlareError(`DataParallel.forward(): argument ${k} has ${a.shape[0]} rows in dim 0 but the first tensor has ${tensors[0].shape[0]}; every tensor argument is split along dim 0`, "E_SHAPE");
      } else if (!(a === null || a === undefined || ["number", "string", "boolean"].includes(typeof a))) {
        throw new FlareError(`DataParallel.forward(): argument ${k} is a ${typeof a}; only Tensors (split) and numbers, strings, booleans (copied) reach the replicas`, "E_TYPE");
      }
    }
    const batch = tensors[0].shape[0];
    const sizes = shardSizes(batch, this.#ratios);
    const active = sizes.flatMap((n, i) => (n > 0 ? [i] : []));
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const grad = isGradEnabled();
    const id = ++this.#calls;
    const params = this.module.parameters(), buffers = this.module.buffers();
    for (const [rank, i] of active.entries()) {
      const release = (t: Tensor) => t.release() as number;
      this.#post(i, {
        type: "forward", id, grad, training: this.module.training,
        inputs: args.map((a) => (a instanceof Tensor ? { [TAG]: release(a.narrow(0, offsets[i], sizes[i]).detach()) } : a)),
        params: params.map((p) => release(p.detach())),
        requiresGrad: params.map((p) => p.requiresGrad),
        // The first replica updates the module's buffers (BatchNorm statistics) in place; the others get copies.
        buffers: buffers.map((b) => release(rank === 0 ? b.detach() : b.clone())),
      });
    }
    const answers = this.#collect(active, "forward()", id);
    const outputs = answers.map((a) => (a.type === "output" ? adopt(a.output) : null));
    const failed = answers.findIndex((a) => a.type !== "output");
    if (failed >= 0) {
      for (const t of outputs) t?.dispose();
      throw this.#error(answers[failed], active[failed]);
    }
    const forwardMs = answers.map((a) => (a as Extract<FromReplica, { type: "output" }>).ms);
    const parts = outputs as Tensor[];
    const out = noGrad(() => {
      const moved = parts.map((t) => t.to(this.outputDevice.startsWith("cpu") ? "cpu" : this.outputDevice));
      return cat(moved, 0);
    });
    if (grad) {
      out.requiresGrad_(true);
      out.registerHook((g) => { this.#backward(id, g, active, sizes, offsets, forwardMs); });
    }
    return out;
  }

  #backward(id: number, g: Tensor, active: number[], sizes: number[], offsets: number[], forwardMs: number[]): void {
    this.#live();
    tidy(() => {
      for (const i of active) {
        const slice = g.narrow(0, offsets[i], sizes[i]).to(this.devices[i].startsWith("cpu") ? "cpu" : this.devices[i]).contiguous();
        this.#post(i, { type: "backward", id, grad: slice.detach().release() as number });
      }
      const answers = this.#collect(active, "backward()", id);
      const grads = answers.map((a) => (a.type === "grads" ? a.grads.map((h) => (h === null ? null : adopt(h))) : []));
      const failed = answers.findIndex((a) => a.type !== "grads");
      if (failed >= 0) throw this.#error(answers[failed], active[failed]);
      // Gradients are reduced on the module's device: the sum over replicas.
      noGrad(() => {
        for (const [k, p] of this.module.parameters().entries()) {
          let sum: Tensor | null = null;
          for (const replicaGrads of grads) {
            const r = replicaGrads[k];
            if (!r) continue;
            const here = r.device === p.device ? r : r.to(p.device);
            sum = sum ? sum.add_(here) : here;
          }
          if (!sum) continue;
          const current = p.grad;
          if (current) current.add_(sum); else p.grad = sum;
        }
      });
      this.#timings = active.map((i, k) => ({ device: this.devices[i], samples: sizes[i], forwardMs: forwardMs[k], backwardMs: (answers[k] as Extract<FromReplica, { type: "grads" }>).ms }));
      if (this.#auto && this.#steps < this.#warmup) this.#measure(active, sizes, forwardMs, answers);
    });
  }

  // One training step's timings; after the warm-up, the splits follow each device's speed.
  #measure(active: number[], sizes: number[], forwardMs: number[], answers: FromReplica[]): void {
    this.#steps++;
    if (this.#steps === 1) return;  // thread start-up, first allocations
    active.forEach((i, k) => {
      this.#measured[i].ms += forwardMs[k] + (answers[k] as Extract<FromReplica, { type: "grads" }>).ms;
      this.#measured[i].samples += sizes[i];
    });
    if (this.#steps < this.#warmup) return;
    const speed = this.#measured.map((m) => (m.samples > 0 && m.ms > 0 ? m.samples / m.ms : 0));
    const total = speed.reduce((a, b) => a + b, 0);
    if (total > 0) this.#ratios = speed.map((s) => s / total);
  }

  /** Stops the replicas' threads (the wrapped module stays usable). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#replicas) {
      try { r.port.postMessage({ type: "close" } satisfies ToReplica); } catch { /* already gone */ }
      r.port.close();
      void r.worker.terminate();
    }
    this.#replicas = [];
  }

  /** close(), then frees the wrapped module's tensors (Module.dispose()). */
  override dispose(): void {
    this.close();
    super.dispose();
  }

  override toString(): string {
    return `DataParallel(devices=[${this.devices.join(", ")}], splits=[${this.#ratios.map((r) => r.toFixed(3)).join(", ")}])\n  (module): ${this.module.toString().replace(/\n/g, "\n  ")}`;
  }
}

