// torch.distributed's collectives, in place on the tensors given, on the
// default group or `group`. With { asyncOp: true } they return a Work whose
// wait() is a Promise: Gloo's threads move the data and a native waiter
// thread settles the Promise, so the event loop keeps running meanwhile.
// Gloo has no AVG and no reduce_scatter: avg is a sum divided by the group
// size, reduceScatter an allreduce of the inputs of which each rank keeps its part.
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import { Tensor, cat, noGrad } from "../tensor/index.js";
import { describe } from "../validate.js";
import { REDUCE_OPS, collectiveError, getDefaultGroup, nativeDist, waitSync, type ProcessGroup, type ReduceOp } from "./process_group.js";
import type { WorkHandle } from "./native.js";

/** An async collective in flight (PyTorch's Work). */
export class Work {
  private settled: Promise<void> | null = null;
  constructor(private readonly handle: WorkHandle, private readonly what: string, private readonly after?: () => void) {}
  /** Resolves when the collective is done (and its results are in the tensors); rejects with a FlareError if it failed. */
  wait(): Promise<void> {
    this.settled ??= nativeDist(this.what).distWorkWaitAsync(this.handle).then(
      () => { this.after?.(); },
      (error) => { throw collectiveError(this.what, error); });
    return this.settled;
  }
  /** Blocks this thread until done (what the synchronous collectives do). */
  waitSync(): void {
    if (this.settled) throw new FlareError(`${this.what}: wait() was already called; await it`, "E_STATE");
    waitSync(this.handle, this.what);
    this.after?.();
    this.settled = Promise.resolve();
  }
  isCompleted(): boolean { return nativeDist(this.what).distWorkIsCompleted(this.handle); }
}

export interface CollectiveOptions { group?: ProcessGroup; asyncOp?: boolean }
export interface ReduceOptions extends CollectiveOptions { op?: ReduceOp }

function finish(work: Work, asyncOp: boolean | undefined): Work | undefined {
  if (asyncOp) return work;
  work.waitSync();
  return undefined;
}

function tensorArg(t: unknown, what: string): Tensor {
  if (!(t instanceof Tensor)) throw new FlareError(`${what} must be a Tensor, got ${describe(t)}`, "E_TYPE");
  if (t.requiresGrad && t.isLeaf) throw new FlareError(`${what}: a leaf tensor that requires grad can't be written in place (use t.detach() or noGrad)`, "E_STATE");
  return t;
}

function opArg(op: unknown, what: string): ReduceOp {
  if (!REDUCE_OPS.includes(op as ReduceOp)) throw new FlareError(`${what}: op must be one of ${REDUCE_OPS.join(", ")}, got ${describe(op)}`, "E_ARGUMENT");
  return op as ReduceOp;
}

/** Reduces `tensor` across the group, in place: every rank ends with the result. */
export function allReduce(tensor: Tensor, options: ReduceOptions & { asyncOp: true }): Work;
export function allReduce(tensor: Tensor, options?: ReduceOptions): Work | undefined;
export function allReduce(tensor: Tensor, options: ReduceOptions = {}): Work | undefined {
  const { op = "sum", group, asyncOp } = checkOptions(options, ["op", "group", "asyncOp"], "allReduce()");
  tensorArg(tensor, "allReduce(): tensor");
  const g = group ?? getDefaultGroup("allReduce()");
  const reduce = opArg(op, "allReduce()");
  const handle = nativeDist("allReduce()").distAllReduce(g.live("allReduce()"), [tensor.handle], reduce === "avg" ? "sum" : reduce);
  const after = reduce === "avg" ? () => { noGrad(() => tensor.div_(g.worldSize)); } : undefined;
  return finish(new Work(handle, "allReduce()", after), asyncOp);
}

/** Copies global rank `src`'s tensor into every rank's. */
export function broadcast(tensor: Tensor, src: number, options: CollectiveOptions & { asyncOp: true }): Work;
export function broadcast(tensor: Tensor, src: number, options?: CollectiveOptions): Work | undefined;
export function broadcast(tensor: Tensor, src: number, options: CollectiveOptions = {}): Work | undefined {
  const { group, asyncOp } = checkOptions(options, ["group", "asyncOp"], "broadcast()");
  tensorArg(tensor, "broadcast(): tensor");
  if (!Number.isInteger(src)) throw new FlareError(`broadcast(): src must be a rank (an integer), got ${describe(src)}`, "E_ARGUMENT");
  const g = group ?? getDefaultGroup("broadcast()");
  const handle = nativeDist("broadcast()").distBroadcast(g.live("broadcast()"), [tensor.handle], g.groupRank(src, "broadcast()"));
  return finish(new Work(handle, "broadcast()"), asyncOp);
}

/** Fills tensorList[r] with group rank r's `tensor` (every entry shaped as `tensor`). */
export function allGather(tensorList: Tensor[], tensor: Tensor, options: CollectiveOptions & { asyncOp: true }): Work;
export function allGather(tensorList: Tensor[], tensor: Tensor, options?: CollectiveOptions): Work | undefined;
export function allGather(tensorList: Tensor[], tensor: Tensor, options: CollectiveOptions = {}): Work | undefined {
  const { group, asyncOp } = checkOptions(options, ["group", "asyncOp"], "allGather()");
  const g = group ?? getDefaultGroup("allGather()");
  if (!Array.isArray(tensorList) || tensorList.length !== g.worldSize)
    throw new FlareError(`allGather(): tensorList must be an array of ${g.worldSize} tensors (one per rank), got ${describe(tensorList)}`, "E_ARGUMENT");
  if (!(tensor instanceof Tensor)) throw new FlareError(`allGather(): tensor must be a Tensor, got ${describe(tensor)}`, "E_TYPE");
  tensorList.forEach((t, i) => {
    tensorArg(t, `allGather(): tensorList[${i}]`);
    if (t.shape.join() !== tensor.shape.join() || t.dtype !== tensor.dtype)
      throw new FlareError(`allGather(): tensorList[${i}] is ${t.dtype} [${t.shape}], tensor is ${tensor.dtype} [${tensor.shape}]: they must match`, "E_SHAPE");
  });
  const handle = nativeDist("allGather()").distAllGather(g.live("allGather()"), tensorList.map((t) => t.handle), tensor.handle);
  return finish(new Work(handle, "allGather()"), asyncOp);
}

/** Reduces inputList across ranks; group rank r's `output` receives the reduction of everyone's inputList[r]. */
export function reduceScatter(output: Tensor, inputList: Tensor[], options: ReduceOptions & { asyncOp: true }): Work;
export function reduceScatter(output: Tensor, inputList: Tensor[], options?: ReduceOptions): Work | undefined;
export function reduceScatter(output: Tensor, inputList: Tensor[], options: ReduceOptions = {}): Work | undefined {
  const { op = "sum", group, asyncOp } = checkOptions(options, ["op", "group", "asyncOp"], "reduceScatter()");
  tensorArg(output, "reduceScatter(): output");
  const g = group ?? getDefaultGroup("reduceScatter()");
  const reduce = opArg(op, "reduceScatter()");
  if (!Array.isArray(inputList) || inputList.length !== g.worldSize)
    throw new FlareError(`reduceScatter(): inputList must be an array of ${g.worldSize} tensors (one per rank), got ${describe(inputList)}`, "E_ARGUMENT");
  inputList.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new FlareError(`reduceScatter(): inputList[${i}] must be a Tensor, got ${describe(t)}`, "E_TYPE");
    if (t.shape.join() !== output.shape.join() || t.dtype !== output.dtype)
      throw new FlareError(`reduceScatter(): inputList[${i}] is ${t.dtype} [${t.shape}], output is ${output.dtype} [${output.shape}]: they must match`, "E_SHAPE");
  });
  const flat = noGrad(() => cat(inputList.map((t) => t.detach().reshape([1, ...t.shape]))));
  const handle = nativeDist("reduceScatter()").distAllReduce(g.live("reduceScatter()"), [flat.handle], reduce === "avg" ? "sum" : reduce);
  const after = () => noGrad(() => {
    const part = flat.select(0, g.rank);
    output.copy_(reduce === "avg" ? part.div(g.worldSize) : part);
    part.dispose();
    flat.dispose();
  });
  return finish(new Work(handle, "reduceScatter()", after), asyncOp);
}

/** Returns when every rank of the group has reached it. */
export function barrier(options: CollectiveOptions & { asyncOp: true }): Work;
export function barrier(options?: CollectiveOptions): Work | undefined;
export function barrier(options: CollectiveOptions = {}): Work | undefined {
  const { group, asyncOp } = checkOptions(options, ["group", "asyncOp"], "barrier()");
  const g = group ?? getDefaultGroup("barrier()");
  return finish(new Work(nativeDist("barrier()").distBarrier(g.live("barrier()")), "barrier()"), asyncOp);
}
