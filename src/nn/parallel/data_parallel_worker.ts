// The thread of one DataParallel replica (see data_parallel.ts). It builds the
// replica from the user's module, then serves forward and backward requests
// from the main thread one at a time: each request brings tensors as released
// handles, each reply sends tensors back the same way, then raises this
// replica's signal so the blocked main thread wakes and reads the reply with
// receiveMessageOnPort. The graph of the latest forward stays here until its
// backward (or the next forward) runs, so backward runs on this thread.
import { workerData, type MessagePort } from "node:worker_threads";
import { FlareError } from "../../errors.js";
import { Tensor, adopt, keep, tidy, noGrad, enableGrad, dispose } from "../../tensor/index.js";
import { Module } from "../module.js";

export interface ReplicaSetup {
  module: string;
  exportName: string;
  args: unknown;
  device: string;
  index: number;
  port: MessagePort;
  signal: SharedArrayBuffer;
}

export type ToReplica =
  | { type: "forward"; id: number; inputs: unknown[]; params: number[]; requiresGrad: boolean[]; buffers: number[]; training: boolean; grad: boolean }
  | { type: "backward"; id: number; grad: number }
  | { type: "close" };

export type FromReplica =
  | { type: "ready"; params: string[]; buffers: string[] }
  | { type: "output"; id: number; output: number; ms: number }
  | { type: "grads"; id: number; grads: (number | null)[]; ms: number }
  | { type: "error"; id?: number; message: string; code?: string };

const TAG = "__flareTensor";
const setup = workerData as ReplicaSetup;
const signal = new Int32Array(setup.signal);
let replica: Module;
let params: Tensor[] = [];
let buffers: Tensor[] = [];
// The latest forward's output (with its graph) and its id.
let pending: { id: number; output: Tensor } | null = null;

function reply(message: FromReplica): void {
  setup.port.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

// A thread that dies without replying still wakes the main thread (2 = gone).
process.on("exit", () => { Atomics.store(signal, 0, 2); Atomics.notify(signal, 0); });

function dropPending(): void {
  if (pending) { pending.output.dispose(); pending = null; }
}

function unpackArg(value: unknown): unknown {
  if (typeof value === "object" && value !== null && TAG in value) {
    const t = adopt((value as Record<string, number>)[TAG]);
    if (setup.device === "cpu") return t;
    const moved = t.to(setup.device);
    if (moved !== t) t.dispose();
    return moved;
  }
  return value;
}

function forward(message: Extract<ToReplica, { type: "forward" }>): FromReplica {
  const start = performance.now();
  const sources = message.params.map(adopt), bufferSources = message.buffers.map(adopt);
  const inputs = message.inputs.map(unpackArg);
  try {
    // The replica computes with the master's current tensors (`p.data = source`,
    // no copy on the same device): the master's values, dtype and frozen flags.
    // The first replica's buffers are the master's own, so its BatchNorm
    // statistics update the module's in place, as in PyTorch; the others get copies.
    const take = (target: Tensor, source: Tensor) => {
      const here = setup.device === "cpu" ? source : source.to(setup.device);
      target.setData(here);
      if (here !== source) here.dispose();
    };
    params.forEach((p, i) => { take(p, sources[i]); p.requiresGrad_(message.requiresGrad[i]); });
    buffers.forEach((b, i) => take(b, bufferSources[i]));
    if (replica.training !== message.training) replica.train(message.training);
    if (message.grad) dropPending();
    const output = (message.grad ? enableGrad : noGrad)(() => replica.forward(...inputs)) as unknown;
    if (!(output instanceof Tensor))
      throw new FlareError(`DataParallel: the replica's forward() must return one Tensor, got ${output === null ? "null" : typeof output}`, "E_TYPE");
    // Sent as it is (on this replica's device): the main thread gathers on the output device.
    const sent = output.detach().release();
    if (message.grad && output.requiresGrad) pending = { id: message.id, output: keep(output) };
    else output.dispose();
    return { type: "output", id: message.id, output: sent, ms: performance.now() - start };
  } finally {
    dispose([sources, bufferSources, inputs.filter((x): x is Tensor => x instanceof Tensor)]);
  }
}

function backward(message: Extract<ToReplica, { type: "backward" }>): FromReplica {
  const start = performance.now();
  const grad = adopt(message.grad);
  try {
    if (!pending || pending.id !== message.id)
      throw new FlareError("DataParallel: backward through the output of an earlier forward() (each replica keeps only the latest forward's graph), or a second backward through the same output", "E_STATE");
    const { output } = pending;
    pending = null;
    try {
      const g = setup.device === "cpu" ? grad : tidy(() => grad.to(setup.device));
      output.backward(g);
      if (g !== grad) g.dispose();
    } finally {
      output.dispose();
    }
    // The gradients move to the main thread: each is sent as an alias and this
    // replica's .grad is cleared, so the next backward starts from zero.
    const grads = params.map((p) => {
      const g = p.grad;
      if (!g) return null;
      const alias = g.detach().release();
      p.grad = null;
      return alias;
    });
    return { type: "grads", id: message.id, grads, ms: performance.now() - start };
  } finally {
    grad.dispose();
  }
}

function failure(error: unknown, id?: number): FromReplica {
  return { type: "error", id, message: error instanceof Error ? error.message : String(error), code: error instanceof FlareError ? error.code : undefined };
}

async function start(): Promise<void> {
  try {
    const mod = await import(setup.module) as Record<string, unknown>;
    const factory = mod[setup.exportName];
    if (typeof factory !== "function")
      throw new FlareError(`DataParallel: ${setup.module} has no function export '${setup.exportName}' that builds the replica`, "E_ARGUMENT");
    const made = await (factory as (args: unknown, info: unknown) => unknown)(setup.args, { device: setup.device, index: setup.index });
    if (!(made instanceof Module))
      throw new FlareError(`DataParallel: ${setup.module}'s ${setup.exportName}() must return an nn.Module, got ${made === null ? "null" : typeof made}`, "E_TYPE");
    replica = setup.device === "cpu" ? made : made.to(setup.device);
    const named = replica.namedParameters(), namedBuffers = replica.namedBuffers();
    params = named.map(([, p]) => p);
    buffers = namedBuffers.map(([, b]) => b);
    // Names with shapes, so the main thread can check the replica matches the module.
    const sig = ([n, t]: [string, Tensor]) => `${n} [${t.shape.join(", ")}]`;
    reply({ type: "ready", params: named.map(sig), buffers: namedBuffers.map(sig) });
  } catch (error) {
    reply(failure(error));
    return;
  }
  setup.port.on("message", (message: ToReplica) => {
    if (message.type === "close") { dropPending(); replica.dispose(); setup.port.close(); return; }
    let answer: FromReplica;
    try {
      answer = message.type === "forward" ? forward(message) : backward(message);
    } catch (error) {
      answer = failure(error, message.id);
    }
    reply(answer);
  });
}

void start();
