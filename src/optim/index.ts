// optim: optimizers (SGD, Adam, AdamW) and learning-rate schedulers (optim.lrScheduler).
export {
  Optimizer, flattenStateDict, unflattenStateDict, required,
  type ParamGroup, type ParamGroupInput, type Params, type ParamState, type StateValue,
  type OptimizerStateDict, type SavedParamGroup,
} from "./optimizer.js";
export { SGD, type SGDOptions, type SGDParamGroup } from "./sgd.js";
export { Adam, AdamBase, type AdamOptions, type AdamParamGroup } from "./adam.js";
export { AdamW } from "./adamw.js";
export * as lrScheduler from "./lr_scheduler.js";
