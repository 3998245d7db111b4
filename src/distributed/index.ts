// torch.distributed: `import { distributed as dist } from "flare"`.
export {
  initProcessGroup, isInitialized, getRank, getWorldSize, newGroup, destroyProcessGroup, ProcessGroup,
  DEFAULT_TIMEOUT_MS, type ReduceOp, type InitOptions,
} from "./process_group.js";
export { allReduce, broadcast, allGather, reduceScatter, barrier, Work, type CollectiveOptions, type ReduceOptions } from "./collectives.js";
export { launch, type LaunchOptions, type LaunchResult } from "./launcher.js";
export { KVStore, type KVStoreOptions, type KVUpdater, type AllReduceGroup } from "./kvstore.js";
