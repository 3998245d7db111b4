// io: safetensors and torch.save / torch.load of state dicts.
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import { loadFileWithMetadata, saveFile, type Metadata, type TensorMap } from "./safetensors.js";
import { checkPath } from "./files.js";

export * as safetensors from "./safetensors.js";
export { writeFileAtomic } from "./safetensors.js";
export { readRegularFile, readRegularFileAsync, readTextFile, checkRegularFile, FILE_LIMITS } from "./files.js";

export type StateDict = Map<string, Tensor>;

// A file saved from a single tensor: one tensor under this name, marked in the metadata.
const SINGLE = { key: "tensor", format: "flare.tensor" };

/** torch.save for a state dict (or any name → tensor map) or a single tensor, as safetensors, atomically. */
export function save(stateDict: StateDict | Record<string, Tensor> | Tensor, path: string, metadata?: Metadata): void {
  if (stateDict === null || typeof stateDict !== "object") throw new FlareError("save(): expected a tensor or a state dict (Map or object of tensors)", "E_ARGUMENT");
  if (stateDict instanceof Tensor) {
    saveFile(new Map([[SINGLE.key, stateDict]]), checkPath(path, "save()"), { ...metadata, format: SINGLE.format });
    return;
  }
  saveFile(stateDict, checkPath(path, "save()"), metadata);
}

/**
 * torch.load of a safetensors file: a state dict (a Map), or the tensor when the
 * file was saved from a single tensor (`torch.load<Tensor>(path)` types it so).
 */
export function load(path: string): TensorMap;
export function load<T extends TensorMap | Tensor>(path: string): T;
export function load(path: string): TensorMap | Tensor {
  // A number would be taken as a file descriptor (torch.load(0) would read stdin).
  const { tensors, metadata } = loadFileWithMetadata(checkPath(path, "load()"));
  if (metadata?.format === SINGLE.format && tensors.size === 1 && tensors.has(SINGLE.key)) return tensors.get(SINGLE.key)!;
  return tensors;
}
