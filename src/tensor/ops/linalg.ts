// Matrix products.
import { FlareError } from "../../errors.js";
import { op } from "../native.js";
import { Tensor, wrap, handleOf } from "../tensor.js";

declare module "../tensor.js" {
  interface Tensor {
    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;
    dot(other: Tensor): Tensor;
    outer(other: Tensor): Tensor;
  }
}

for (const [name, aten] of [["matmul", "matmul"], ["mm", "mm"], ["bmm", "bmm"], ["dot", "dot"], ["outer", "outer"]] as const) {
  const f = op(`aten::${aten}`);
  Tensor.prototype[name] = function (other: Tensor) { return wrap(f(this.handle, handleOf(other, `${name}(): other`))); };
}

const einsumOp = op("aten::einsum");
/** einsum("ij,jk->ik", a, b), as torch.einsum. */
export function einsum(equation: string, ...operands: (Tensor | Tensor[])[]): Tensor {
  if (typeof equation !== "string") throw new FlareError("einsum(): the first argument must be the equation string", "E_ARGUMENT");
  const tensors = operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : (operands as Tensor[]);
  return wrap(einsumOp(equation, tensors.map((t, i) => handleOf(t, `einsum(): operand ${i}`)), null));
}

declare module "../tensor.js" {
  interface Tensor {
    /** Matrix × vector, as torch.mv. */
    mv(vec: Tensor): Tensor;
  }
}
const mvOp = op("aten::mv");
Tensor.prototype.mv = function (vec: Tensor) { return wrap(mvOp(this.handle, handleOf(vec, "mv(): vec"))); };
