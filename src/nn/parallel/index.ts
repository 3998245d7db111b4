// torch.nn.parallel: data parallelism over processes (DistributedDataParallel) and over devices in one process (DataParallel).
export { DistributedDataParallel, broadcastCoalesced, type DistributedDataParallelOptions, type OverlapStats } from "./distributed_data_parallel.js";
export { SyncBatchNorm } from "./sync_batchnorm.js";
// torch.nn.DataParallel: one process, a replica per device (worker threads on CPU).
export { DataParallel, shardSizes, type DataParallelOptions, type ReplicaTiming } from "./data_parallel.js";
