// The addon's c10d functions (native/distributed.cc, native/reducer.cc), typed.
// Absent when flare was built without Gloo.
import { native, type Handle } from "../tensor/native.js";

export type ContextHandle = { readonly __context: unique symbol };
export type GroupHandle = { readonly __group: unique symbol };
export type WorkHandle = { readonly __work: unique symbol };
export type ReducerHandle = { readonly __reducer: unique symbol };

export interface ReducerStats { iterations: number; buckets: number; commMs: number; hiddenMs: number; waitMs: number; backwardMs: number }

export interface DistNative {
  distNewContext(host: string, port: number, rank: number, worldSize: number, timeoutMs: number, ifname: string, deviceHost: string): ContextHandle;
  distNewGroup(context: ContextHandle, prefix: string, rank: number, size: number): GroupHandle;
  distStoreSet(context: ContextHandle, key: string, value: string): void;
  distStoreGet(context: ContextHandle, key: string): string;
  distAllReduce(group: GroupHandle, tensors: Handle[], op: string): WorkHandle;
  distBroadcast(group: GroupHandle, tensors: Handle[], root: number): WorkHandle;
  distAllGather(group: GroupHandle, outputs: Handle[], input: Handle): WorkHandle;
  distBarrier(group: GroupHandle): WorkHandle;
  distWorkWait(work: WorkHandle): void;
  distWorkWaitAsync(work: WorkHandle): Promise<void>;
  distWorkIsCompleted(work: WorkHandle): boolean;
  distDestroyGroup(group: GroupHandle): void;
  distDestroyContext(context: ContextHandle): void;
  distDeadPeers(peers: string[], self: number): string[];
  distNewReducer(group: GroupHandle, params: Handle[], names: string[], firstBucketBytes: number, bucketBytes: number, findUnused: boolean, peers: string[], globalRank: number): ReducerHandle;
  distReducerPrepare(reducer: ReducerHandle): void;
  distReducerBuckets(reducer: ReducerHandle): string[][];
  distReducerStats(reducer: ReducerHandle): ReducerStats;
  distReducerRemove(reducer: ReducerHandle): void;
}

const candidate = native as unknown as Partial<DistNative>;
/** The c10d functions, or undefined in a build without Gloo. */
export const dist: DistNative | undefined = typeof candidate.distNewContext === "function" ? (candidate as DistNative) : undefined;
