// A c10d process group over Gloo, rendezvous through a TCPStore on rank 0:
// torchrun's contract (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE). Collectives
// are blocking and in place; the data-parallel work builds DDP on top.
import { FlareError } from "../errors.js";
import { native, type GroupHandle } from "../tensor/native.js";
import type { Tensor } from "../tensor/index.js";

export type ReduceOp = "sum" | "product" | "min" | "max";

export interface InitOptions {
  /** Only "gloo" for now (CPU); NCCL comes with CUDA builds. */
  backend?: "gloo";
  masterAddr?: string;
  masterPort?: number;
  rank?: number;
  worldSize?: number;
  timeoutMs?: number;
}

export class ProcessGroup {
  private handle: GroupHandle | null;
  constructor(handle: GroupHandle, readonly rank: number, readonly worldSize: number) { this.handle = handle; }

  private get live(): GroupHandle {
    if (!this.handle) throw new FlareError("the process group was destroyed", "E_STATE");
    return this.handle;
  }
  allReduce(tensor: Tensor, op: ReduceOp = "sum"): void { native.allReduce!(this.live, [tensor.handle], op); }
  broadcast(tensor: Tensor, src = 0): void { native.broadcast!(this.live, [tensor.handle], src); }
  barrier(): void { native.barrier!(this.live); }
  destroy(): void { if (this.handle) native.destroyGroup!(this.handle); this.handle = null; }
}

function fromEnv(name: string, given: number | string | undefined): string {
  const value = given ?? process.env[name];
  if (value === undefined || value === "") throw new FlareError(`initProcessGroup(): ${name} is not set (pass it, or set the environment variable as torchrun does)`, "E_ARGUMENT");
  return String(value);
}

function integer(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new FlareError(`initProcessGroup(): ${name} must be an integer >= ${min}, got '${text}'`, "E_ARGUMENT");
  return n;
}

/** Joins the group: blocks until all `worldSize` ranks have connected (or the timeout passes). */
export function initProcessGroup(options: InitOptions = {}): ProcessGroup {
  if (!native.newGroup) throw new FlareError("flare was built without c10d/Gloo (install libgloo-dev and rebuild)", "E_NOT_IMPLEMENTED");
  if ((options.backend ?? "gloo") !== "gloo") throw new FlareError(`initProcessGroup(): backend '${options.backend}' is not available; use 'gloo'`, "E_ARGUMENT");
  const addr = fromEnv("MASTER_ADDR", options.masterAddr);
  const port = integer("MASTER_PORT", fromEnv("MASTER_PORT", options.masterPort), 1);
  const rank = integer("RANK", fromEnv("RANK", options.rank), 0);
  const world = integer("WORLD_SIZE", fromEnv("WORLD_SIZE", options.worldSize), 1);
  if (rank >= world) throw new FlareError(`initProcessGroup(): RANK ${rank} must be below WORLD_SIZE ${world}`, "E_ARGUMENT");
  const handle = native.newGroup(addr, port, rank, world, options.timeoutMs ?? 60_000);
  return new ProcessGroup(handle, rank, world);
}
