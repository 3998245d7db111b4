// Helpers for layer constructors: parameters made like PyTorch's
// Parameter(torch.empty(shape, dtype=..., device=...)), freed of temporaries.
import { empty, ones, zeros } from "../../tensor/creation.js";
import { tidy, keep } from "../../tensor/scope.js";
import type { DType } from "../../tensor/dtype.js";
import { Tensor } from "../../tensor/tensor.js";
import { Parameter } from "../parameter.js";

/** PyTorch's factory_kwargs: where and in which dtype a layer makes its tensors. */
export interface FactoryOptions { dtype?: DType; device?: string }

function factory(options: FactoryOptions) {
  return { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
}

export function emptyParameter(shape: number[], options: FactoryOptions = {}): Parameter {
  return tidy(() => new Parameter(empty(shape, factory(options))));
}
export function onesParameter(shape: number[], options: FactoryOptions = {}): Parameter {
  return tidy(() => new Parameter(ones(shape, factory(options))));
}
export function zerosParameter(shape: number[], options: FactoryOptions = {}): Parameter {
  return tidy(() => new Parameter(zeros(shape, factory(options))));
}
/** A new buffer tensor, exempt from tidy (registerBuffer keeps it too). */
export function keptTensor(make: () => Tensor): Tensor {
  return keep(make());
}
