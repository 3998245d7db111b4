// Parameter: a tensor that a Module owns and trains. It shares the storage of
// the tensor it is made from, requires grad, and is exempt from tidy() scopes
// (its module frees it: module.dispose()).
import { native, type Handle } from "../tensor/native.js";
import { aten } from "../tensor/aten.js";
import { Tensor } from "../tensor/tensor.js";
import { empty } from "../tensor/creation.js";
import { tensorArg } from "./utils.js";

const detachOp = aten.detach;

export class Parameter extends Tensor {
  /** new Parameter(data, requiresGrad = true), as torch.nn.Parameter. Without data, an empty tensor. */
  constructor(data?: Tensor, requiresGrad = true) {
    const source = data ?? empty([0]);
    const handle = detachOp(tensorArg(source, "Parameter(): data")) as Handle;
    if (data === undefined) source.dispose();
    super(handle, false);
    this.kept = true;
    native.setRequiresGrad(this.handle, requiresGrad);
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

export function isParameter(value: unknown): value is Parameter {
  return value instanceof Parameter;
}
