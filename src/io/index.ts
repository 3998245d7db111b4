// io: safetensors and torch.save / torch.load of state dicts.
import { FlareError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import { loadFile, saveFile, type LoadOptions, type Metadata, type TensorMap } from "./safetensors.js";
import { checkPath } from "./files.js";

export * as safetensors from "./safetensors.js";
export { writeFileAtomic } from "./safetensors.js";
export { readRegularFile, readRegularFileAsync, readTextFile, checkRegularFile, FILE_LIMITS } from "./files.js";

export type StateDict = Map<string, Tensor>;

/** torch.save for a state dict (or any name → tensor map), as safetensors, atomically. */
export function save(stateDict: StateDict | Record<string, Tensor>, path: string, metadata?: Metadata): void {
  if (stateDict === null || typeof stateDict !== "object") throw new FlareError("save(): expected a state dict (Map or object of tensors)", "E_ARGUMENT");
  saveFile(stateDict, checkPath(path, "save()"), metadata);
}

/**
 * torch.load of a safetensors state dict. `{ shapes }` (e.g. from a model's
 * state dict) refuses a file whose tensors would not fit, from its header,
 * before any of its data is read or allocated.
 */
export function load(path: string, options: LoadOptions = {}): TensorMap {
  // A number would be taken as a file descriptor (torch.load(0) would read stdin).
  return loadFile(checkPath(path, "load()"), options);
}
