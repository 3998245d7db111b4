// nn.parallel.DistributedDataParallel: one model replica per process. At
// construction the parameters and buffers are checked and broadcast from rank
// 0; in backward, the native reducer (native/reducer.cc) allreduces the
// gradients bucket by bucket as they become ready, overlapping the rest of
// backward, and leaves every rank with the same averaged .grad, so identical
// optimizer steps keep the replicas identical.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import { Tensor, cat, isGradEnabled, noGrad, tidy, tensor as makeTensor } from "../../tensor/index.js";
import { Module } from "../module.js";
import { getDefaultGroup, nativeDist, peerTable, waitSync, type ProcessGroup } from "../../distributed/process_group.js";
import { dist, type ReducerHandle, type ReducerStats } from "../../distributed/native.js";

export interface DistributedDataParallelOptions {
  /** The group to train over (default: the world). */
  processGroup?: ProcessGroup;
  /** Bucket size in MiB (PyTorch's 25). The first bucket is 1 MiB, so communication starts early. */
  bucketCapMb?: number;
  /** Parameters that get no gradient in a backward count as zero instead of being an error. */
  findUnusedParameters?: boolean;
  /** Broadcast rank 0's buffers (BatchNorm statistics) before each forward (default true). */
  broadcastBuffers?: boolean;
  /** Only CPU here: deviceIds must be absent or null. */
  deviceIds?: null;
}
const KEYS = ["processGroup", "bucketCapMb", "findUnusedParameters", "broadcastBuffers", "deviceIds"];

/** How much of the gradient communication ran while backward was still computing. */
export interface OverlapStats extends ReducerStats {
  /** hiddenMs / commMs: 1 when every allreduce finished before backward did. */
  overlap: number;
}

/** Broadcasts tensors from `src` (group rank), flattened into one tensor per dtype. */
export function broadcastCoalesced(group: ProcessGroup, tensors: Tensor[], src = 0, what = "broadcast"): void {
  const byDtype = new Map<string, Tensor[]>();
  for (const t of tensors) {
    if (t.numel() === 0) continue;
    byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), t]);
  }
  // tidy: the flat copies and views are freed here, also when called outside a forward.
  tidy(() => noGrad(() => {
    for (const list of byDtype.values()) {
      const flat = cat(list.map((t) => t.detach().reshape([-1])));
      waitSync(nativeDist(what).distBroadcast(group.live(what), [flat.handle], src), what);
      let offset = 0;
      for (const t of list) {
        t.detach().copy_(flat.narrow(0, offset, t.numel()).view(t.shape));
        offset += t.numel();
      }
    }
  }));
}

export class DistributedDataParallel extends Module {
  readonly module: Module;
  readonly processGroup: ProcessGroup;
  readonly broadcastBuffers: boolean;
  readonly findUnusedParameters: boolean;
  private reducer: ReducerHandle | null;
  /** False inside noSync(): backward accumulates locally. */
  requireBackwardGradSync = true;

  constructor(module: Module, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new FlareError(`DistributedDataParallel(): module must be an nn.Module, got ${String(module)}`, "E_TYPE");
    const { processGroup, bucketCapMb = 25, findUnusedParameters = false, broadcastBuffers = true, deviceIds } =
      checkOptions(options, KEYS, "DistributedDataParallel()");
    if (deviceIds !== undefined && deviceIds !== null) throw new FlareError("DistributedDataParallel(): deviceIds: this build of flare is CPU-only; leave deviceIds out", "E_NOT_IMPLEMENTED");
    if (!(typeof bucketCapMb === "number" && bucketCapMb > 0)) throw new FlareError(`DistributedDataParallel(): bucketCapMb must be a positive number, got ${String(bucketCapMb)}`, "E_ARGUMENT");
    this.module = module;
    const group = processGroup ?? getDefaultGroup("DistributedDataParallel()");
    this.processGroup = group;
    this.broadcastBuffers = broadcastBuffers;
    this.findUnusedParameters = findUnusedParameters;
    const named = module.namedParameters().filter(([, p]) => p.requiresGrad);
    if (named.length === 0) throw new FlareError("DistributedDataParallel(): the module has no parameter that requires grad", "E_ARGUMENT");
    for (const [name, p] of named) if (p.device !== "cpu") throw new FlareError(`DistributedDataParallel(): parameter ${name} is on ${p.device}; this build of flare trains on the CPU`, "E_DEVICE");
    this.verifyShapes(named.map(([, p]) => p));
    // Every replica starts from rank 0's state.
    broadcastCoalesced(group, [...module.parameters(), ...module.buffers()], 0, "DistributedDataParallel(): broadcasting rank 0's state");
    const mb = 1024 * 1024;
    const { peers, rank } = peerTable();
    this.reducer = nativeDist("DistributedDataParallel()").distNewReducer(group.live("DistributedDataParallel()"),
      named.map(([, p]) => p.handle), named.map(([n]) => n), Math.min(1, bucketCapMb) * mb, bucketCapMb * mb, findUnusedParameters, peers, rank);
  }

  /** All ranks must wrap the same architecture: compare a fingerprint of the shapes. */
  private verifyShapes(params: Tensor[]): void {
    let hash = 0;
    for (const p of params) for (const d of [p.shape.length, ...p.shape]) hash = (hash * 31 + d) % 1_000_003;
    const mine = [params.length, params.reduce((n, p) => n + p.numel(), 0), hash];
    const lo = makeTensor(mine, { dtype: "float64" }), hi = makeTensor(mine, { dtype: "float64" });
    try {
      waitSync(nativeDist("DistributedDataParallel()").distAllReduce(this.processGroup.live("DistributedDataParallel()"), [lo.handle], "min"), "DistributedDataParallel(): comparing parameter shapes");
      waitSync(nativeDist("DistributedDataParallel()").distAllReduce(this.processGroup.live("DistributedDataParallel()"), [hi.handle], "max"), "DistributedDataParallel(): comparing parameter shapes");
      const [a, b] = [lo.tolist() as number[], hi.tolist() as number[]];
      if (a.some((v, i) => v !== b[i]))
        throw new FlareError(`DistributedDataParallel(): the ranks' models differ (rank ${this.processGroup.rank} has ${mine[0]} parameters, ${mine[1]} values): every rank must wrap the same architecture`, "E_SHAPE");
    } finally {
      lo.dispose();
      hi.dispose();
    }
  }

  private live(): ReducerHandle {
    if (!this.reducer) throw new FlareError("DistributedDataParallel: it was disposed", "E_STATE");
    return this.reducer;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override forward(...args: any[]): any {
    const reducer = this.live();
    if (this.broadcastBuffers && this.processGroup.worldSize > 1 && this.module.training) {
      const buffers = this.module.buffers();
      if (buffers.length) broadcastCoalesced(this.processGroup, buffers, 0, "DistributedDataParallel: broadcasting buffers");
    }
    // Armed here, reduced in the backward of this forward's output.
    if (isGradEnabled() && this.requireBackwardGradSync) nativeDist("DistributedDataParallel").distReducerPrepare(reducer);
    return this.module.forward(...args);
  }

  /**
   * Gradient accumulation without communication: backward passes inside only
   * add to the local .grad; the next synced backward reduces the sum.
   * `ddp.noSync(() => { ... })`, or `using _ = ddp.noSync()`.
   */
  noSync(): Disposable;
  noSync<T>(fn: () => T): T;
  noSync<T>(fn?: () => T): T | Disposable {
    const previous = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    const restore = () => { this.requireBackwardGradSync = previous; };
    if (fn === undefined) return { [Symbol.dispose]: restore };
    try {
      return fn();
    } finally {
      restore();
    }
  }

  /**
   * Averages the gradients now, blocking (for a step after backward passes
   * that ran under noSync and no synced one).
   */
  syncGradients(): void {
    noGrad(() => {
      for (const p of this.module.parameters()) {
        if (!p.requiresGrad) continue;
        const g = p.grad;
        if (!g) continue;
        waitSync(nativeDist("syncGradients()").distAllReduce(this.processGroup.live("syncGradients()"), [g.handle], "sum"), "DistributedDataParallel: allreduce of gradients");
        g.div_(this.processGroup.worldSize);
      }
    });
  }

  /** The buckets, as lists of parameter names, in launch order. */
  buckets(): string[][] { return nativeDist("buckets()").distReducerBuckets(this.live()); }

  /** Communication totals of the synced backward passes so far, and the share that overlapped backward. */
  stats(): OverlapStats {
    const s = nativeDist("stats()").distReducerStats(this.live());
    return { ...s, overlap: s.commMs > 0 ? s.hiddenMs / s.commMs : 0 };
  }

  /** Removes the hooks and the reducer. The wrapped module is not freed (module.dispose() does that). */
  override dispose(): void {
    if (this.reducer) dist?.distReducerRemove(this.reducer);
    this.reducer = null;
  }
}
