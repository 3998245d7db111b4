// torch.distributed's process groups: initProcessGroup joins a c10d
// rendezvous (a TCPStore served by rank 0, torchrun's env:// contract or a
// tcp://host:port address) and makes the default Gloo group; newGroup makes
// sub-groups over the same store. The collectives live in collectives.ts.
import * as os from "node:os";
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import type { Tensor } from "../tensor/index.js";
import { dist, type ContextHandle, type GroupHandle, type DistNative } from "./native.js";

export type ReduceOp = "sum" | "avg" | "product" | "min" | "max";
export const REDUCE_OPS: readonly ReduceOp[] = ["sum", "avg", "product", "min", "max"];

export interface InitOptions {
  /** "gloo" (CPU). "nccl" needs a CUDA build of flare. */
  backend?: "gloo" | "nccl";
  /** "env://" (MASTER_ADDR, MASTER_PORT; the default) or "tcp://host:port". */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** How long to wait for the other ranks to join and for each collective, in ms (PyTorch's default: 30 minutes). */
  timeout?: number;
  /** Instead of initMethod / MASTER_ADDR, MASTER_PORT. */
  masterAddr?: string;
  masterPort?: number;
  /** Old name of `timeout`. */
  timeoutMs?: number;
}
const INIT_KEYS = ["backend", "initMethod", "rank", "worldSize", "timeout", "masterAddr", "masterPort", "timeoutMs"];
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** Where each global rank runs (host:pid), to name a rank that died. */
interface World { context: ContextHandle; rank: number; worldSize: number; peers: string[]; groups: number; timeout: number }
let world: World | null = null;
let defaultGroup: ProcessGroup | null = null;

export function nativeDist(what: string): DistNative {
  if (!dist) throw new FlareError(`${what}: flare was built without c10d/Gloo (install libgloo-dev and rebuild: flare setup)`, "E_NOT_IMPLEMENTED");
  return dist;
}

/**
 * A group of processes that run collectives together. `rank` is this process's
 * rank in the group (-1 when it is not a member), `ranks` the members' global
 * ranks. The methods are blocking, in place; torch.distributed's functions
 * (collectives.ts) add options and async work.
 */
export class ProcessGroup {
  private handle: GroupHandle | null;
  constructor(handle: GroupHandle | null, readonly rank: number, readonly worldSize: number, readonly ranks: number[]) { this.handle = handle; }

  get isMember(): boolean { return this.rank >= 0; }
  /** The native group; a FlareError if destroyed or this process is not a member. */
  live(what = "collective"): GroupHandle {
    if (!this.isMember) throw new FlareError(`${what}: this process (rank ${getRankOrNull()}) is not a member of the group of ranks [${this.ranks.join(", ")}]`, "E_STATE");
    if (!this.handle) throw new FlareError(`${what}: the process group was destroyed`, "E_STATE");
    return this.handle;
  }
  /** The group rank of global rank `global`. */
  groupRank(global: number, what: string): number {
    const r = this.ranks.indexOf(global);
    if (r < 0) throw new FlareError(`${what}: rank ${global} is not in the group [${this.ranks.join(", ")}]`, "E_ARGUMENT");
    return r;
  }
  allReduce(tensor: Tensor, op: Exclude<ReduceOp, "avg"> = "sum"): void { waitSync(nativeDist("allReduce").distAllReduce(this.live("allReduce"), [tensor.handle], op), "allReduce"); }
  /** Broadcasts from group rank `src`. */
  broadcast(tensor: Tensor, src = 0): void { waitSync(nativeDist("broadcast").distBroadcast(this.live("broadcast"), [tensor.handle], src), "broadcast"); }
  barrier(): void { waitSync(nativeDist("barrier").distBarrier(this.live("barrier")), "barrier"); }
  destroy(): void {
    if (this.handle) dist?.distDestroyGroup(this.handle);
    this.handle = null;
  }
}

function getRankOrNull(): number | string { return world ? world.rank : "?"; }

/** A collective's error, with which rank is gone when that can be told (a local peer whose process ended). */
export function collectiveError(what: string, error: unknown): FlareError {
  if (error instanceof FlareError && /destroyed|not a member/.test(error.message)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const gone = deadPeers();
  const who = world ? `rank ${world.rank} of ${world.worldSize}` : "this rank";
  const cause = gone.length ? `${gone.join(", ")} ${gone.length > 1 ? "are" : "is"} gone` :
    /timed out|Timeout/i.test(message) ? "a peer did not take part within the timeout" : "a peer closed its connection or failed";
  return new FlareError(`${what} failed on ${who}: ${cause} (${message.split("\n")[0]})`, "E_STATE");
}

function deadPeers(): string[] {
  return world && dist ? dist.distDeadPeers(world.peers, world.rank) : [];
}

/** "host:pid" of every global rank (to name a rank that died), and this process's global rank. */
export function peerTable(): { peers: string[]; rank: number } {
  return world ? { peers: world.peers, rank: world.rank } : { peers: [], rank: 0 };
}

export function waitSync(work: ReturnType<DistNative["distAllReduce"]>, what: string): void {
  try {
    nativeDist(what).distWorkWait(work);
  } catch (error) {
    throw collectiveError(what, error);
  }
}

function fromEnv(name: string, given: number | string | undefined): string {
  const value = given ?? process.env[name];
  if (value === undefined || value === "") throw new FlareError(`initProcessGroup(): ${name} is not set (pass it, or set the environment variable as torchrun and flare launch do)`, "E_ARGUMENT");
  return String(value);
}

function integer(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new FlareError(`initProcessGroup(): ${name} must be an integer in [${min}, ${max}], got '${text}'`, "E_ARGUMENT");
  return n;
}

function address(options: InitOptions): { addr: string; port: number } {
  const method = options.initMethod ?? "env://";
  if (method === "env://") {
    const addr = fromEnv("MASTER_ADDR", options.masterAddr);
    return { addr, port: integer("MASTER_PORT", fromEnv("MASTER_PORT", options.masterPort), 1, 65535) };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(method);
  if (!m) throw new FlareError(`initProcessGroup(): initMethod must be "env://" or "tcp://host:port", got '${method}'`, "E_ARGUMENT");
  return { addr: m[1].replace(/^\[|\]$/g, ""), port: integer("the initMethod's port", m[2], 1, 65535) };
}

const LOOPBACK = /^(127\.|localhost$|::1$)/;

/**
 * Joins the default group: blocks until all `worldSize` ranks have connected
 * (rank 0 serves the store at MASTER_ADDR:MASTER_PORT), or the timeout passes.
 */
export function initProcessGroup(options: InitOptions = {}): ProcessGroup {
  checkOptions(options, INIT_KEYS, "initProcessGroup()");
  const backend = options.backend ?? "gloo";
  if (backend === "nccl") throw new FlareError("initProcessGroup(): backend 'nccl' needs flare built with CUDA and NCCL; this build is CPU-only: use backend 'gloo'", "E_NOT_IMPLEMENTED");
  if (backend !== "gloo") throw new FlareError(`initProcessGroup(): backend must be "gloo" or "nccl", got '${String(backend)}'`, "E_ARGUMENT");
  const native = nativeDist("initProcessGroup()");
  if (world) throw new FlareError("initProcessGroup(): the default process group is already initialized (destroyProcessGroup() first)", "E_STATE");
  const { addr, port } = address(options);
  const rank = integer("RANK", fromEnv("RANK", options.rank), 0);
  const worldSize = integer("WORLD_SIZE", fromEnv("WORLD_SIZE", options.worldSize), 1);
  if (rank >= worldSize) throw new FlareError(`initProcessGroup(): RANK ${rank} must be below WORLD_SIZE ${worldSize}`, "E_ARGUMENT");
  const timeout = options.timeout ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeout) && timeout > 0)) throw new FlareError(`initProcessGroup(): timeout must be a positive number of milliseconds, got ${timeout}`, "E_ARGUMENT");
  // Gloo binds its own sockets: to GLOO_SOCKET_IFNAME's interface (as PyTorch),
  // else loopback for a loopback master, else the host's default address.
  const ifname = process.env.GLOO_SOCKET_IFNAME ?? "";
  const deviceHost = ifname ? "" : LOOPBACK.test(addr) ? "127.0.0.1" : "";
  let context: ContextHandle;
  try {
    context = native.distNewContext(addr, port, rank, worldSize, timeout, ifname, deviceHost);
  } catch (error) {
    throw rendezvousError(error, addr, port, rank, worldSize, timeout);
  }
  try {
    native.distStoreSet(context, `flare/peer/${rank}`, `${os.hostname()}:${process.pid}`);
    const peers = Array.from({ length: worldSize }, (_, r) => native.distStoreGet(context, `flare/peer/${r}`));
    world = { context, rank, worldSize, peers, groups: 0, timeout };
    const handle = native.distNewGroup(context, "flare/default_pg", rank, worldSize);
    defaultGroup = new ProcessGroup(handle, rank, worldSize, Array.from({ length: worldSize }, (_, r) => r));
  } catch (error) {
    world = null;
    native.distDestroyContext(context);
    throw rendezvousError(error, addr, port, rank, worldSize, timeout);
  }
  return defaultGroup;
}

function rendezvousError(error: unknown, addr: string, port: number, rank: number, worldSize: number, timeout: number): FlareError {
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  const where = `initProcessGroup(): rank ${rank} of ${worldSize} at ${addr}:${port}`;
  if (/Address already in use|failed to listen|EADDRINUSE/i.test(message))
    return new FlareError(`${where}: port ${port} is in use on ${addr} (another run, or another program): choose another MASTER_PORT (${message})`, "E_IO");
  if (/timed? ?out|Timeout|Connection refused|ECONNREFUSED|resolve|getaddrinfo|Name or service/i.test(message))
    return new FlareError(`${where}: could not rendezvous within ${timeout / 1000} s — is rank 0 running, and are MASTER_ADDR and MASTER_PORT right? Did every rank join? (${message})`, "E_IO");
  return new FlareError(`${where}: ${message}`, "E_IO");
}

export function isInitialized(): boolean { return world !== null; }

/** The default group; a FlareError before initProcessGroup(). */
export function getDefaultGroup(what: string): ProcessGroup {
  if (!defaultGroup) throw new FlareError(`${what}: the default process group is not initialized (call distributed.initProcessGroup() first)`, "E_STATE");
  return defaultGroup;
}

/** This process's rank in `group` (default: the world); -1 when not a member. */
export function getRank(group?: ProcessGroup): number { return (group ?? getDefaultGroup("getRank()")).rank; }
export function getWorldSize(group?: ProcessGroup): number { return (group ?? getDefaultGroup("getWorldSize()")).worldSize; }

/**
 * A new group of the given global ranks (default: all). Every process must
 * call it, members or not, in the same order (PyTorch's rule); a non-member
 * gets a group whose collectives are FlareErrors.
 */
export function newGroup(ranks?: number[], options: { timeout?: number; backend?: "gloo" } = {}): ProcessGroup {
  checkOptions(options, ["timeout", "backend"], "newGroup()");
  if (options.backend !== undefined && options.backend !== "gloo") throw new FlareError(`newGroup(): backend must be "gloo", got '${String(options.backend)}'`, "E_ARGUMENT");
  if (options.timeout !== undefined && options.timeout !== world?.timeout) throw new FlareError("newGroup(): a timeout other than initProcessGroup()'s is not supported", "E_NOT_IMPLEMENTED");
  getDefaultGroup("newGroup()");
  const w = world!;
  const members = ranks ?? Array.from({ length: w.worldSize }, (_, r) => r);
  if (!Array.isArray(members) || members.length === 0 || members.some((r) => !Number.isInteger(r) || r < 0 || r >= w.worldSize) || new Set(members).size !== members.length)
    throw new FlareError(`newGroup(): ranks must be distinct integers in [0, ${w.worldSize}), got ${JSON.stringify(ranks)}`, "E_ARGUMENT");
  const sorted = [...members].sort((a, b) => a - b);
  const prefix = `flare/group${++w.groups}`;
  const mine = sorted.indexOf(w.rank);
  if (mine < 0) return new ProcessGroup(null, -1, sorted.length, sorted);
  const handle = nativeDist("newGroup()").distNewGroup(w.context, prefix, mine, sorted.length);
  return new ProcessGroup(handle, mine, sorted.length, sorted);
}

/** Leaves the default group (and so every group); the process may init again. */
export function destroyProcessGroup(group?: ProcessGroup): void {
  if (group && group !== defaultGroup) { group.destroy(); return; }
  defaultGroup?.destroy();
  if (world) dist?.distDestroyContext(world.context);
  defaultGroup = null;
  world = null;
}
