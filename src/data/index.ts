// flare's data layer: datasets, samplers, collation and the DataLoader
// (torch.utils.data), with worker_threads that load batches ahead.
export { type Dataset, type SampleOf, isDataset, Subset, ConcatDataset, TensorDataset, randomSplit } from "./dataset.js";
export {
  type Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler, BatchSampler, DistributedSampler,
  type RandomSamplerOptions, type DistributedSamplerOptions, type SamplerGenerator, MAX_SHUFFLE,
} from "./sampler.js";
export {
  type CollateFn, defaultCollate, detectionCollate, type DetectionCollateOptions, type DetectionBatch, normalizeCollate, type NormalizeCollateOptions,
} from "./collate.js";
export { DataLoader, type DataLoaderOptions, MAX_NUM_WORKERS, MAX_PREFETCH_FACTOR } from "./dataloader.js";
export type { OnError, Skip } from "./protocol.js";
export { getWorkerInfo, type WorkerInfo } from "./worker_info.js";
export { torchRandperm } from "./torch_random.js";
