// torch.nn.parallel: data parallelism over processes (DistributedDataParallel).
export { DistributedDataParallel, broadcastCoalesced, type DistributedDataParallelOptions, type OverlapStats } from "./distributed_data_parallel.js";
export { SyncBatchNorm } from "./sync_batchnorm.js";
