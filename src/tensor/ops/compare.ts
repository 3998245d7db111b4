// Whole-tensor comparisons that answer with a JavaScript boolean (torch.equal,
// torch.allclose), and the PyTorch type names (x.type()).
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";
import { op } from "../native.js";
import { Tensor, handleOf } from "../tensor.js";
import { checkDtype, type DType } from "../dtype.js";

export interface AllcloseOptions { rtol?: number; atol?: number; equalNan?: boolean }

declare module "../tensor.js" {
  interface Tensor {
    /** True when other has the same shape and the same values (torch.equal). */
    equal(other: Tensor): boolean;
    /** |self − other| ≤ atol + rtol·|other| everywhere (torch.allclose; rtol 1e-5, atol 1e-8). */
    allclose(other: Tensor, options?: AllcloseOptions): boolean;
    /** type(): PyTorch's type name ("torch.FloatTensor"); type(dtype) converts, as x.to(dtype). */
    type(): string;
    type(dtype: DType | string): Tensor;
  }
}

const equalOp = op("aten::equal"), allcloseOp = op("aten::allclose");
Tensor.prototype.equal = function (other) { return equalOp(this.handle, handleOf(other, "equal(): other")) as boolean; };
Tensor.prototype.allclose = function (other, options) {
  const o = checkOptions(options, ["rtol", "atol", "equalNan"], "allclose()");
  return allcloseOp(this.handle, handleOf(other, "allclose(): other"), o.rtol ?? 1e-5, o.atol ?? 1e-8, o.equalNan ?? false) as boolean;
};

const TYPE_NAMES: Record<DType, string> = {
  float32: "FloatTensor", float64: "DoubleTensor", float16: "HalfTensor", bfloat16: "BFloat16Tensor", int64: "LongTensor",
  int32: "IntTensor", int16: "ShortTensor", int8: "CharTensor", uint8: "ByteTensor", bool: "BoolTensor",
};
const DTYPE_OF_NAME = Object.fromEntries(Object.entries(TYPE_NAMES).map(([d, n]) => [n, d as DType]));

function typeImpl(this: Tensor): string;
function typeImpl(this: Tensor, dtype: DType | string): Tensor;
function typeImpl(this: Tensor, dtype?: DType | string): string | Tensor {
  if (dtype === undefined) return `torch.${this.device.startsWith("cuda") ? "cuda." : ""}${TYPE_NAMES[this.dtype]}`;
  if (typeof dtype !== "string") throw new FlareError(`type(): dtype must be a dtype such as "float32" (torch.float32) or a type name such as "torch.FloatTensor", got ${String(dtype)}`, "E_TYPE");
  const named = /^torch\.(cuda\.)?(\w+Tensor)$/.exec(dtype);
  if (named) {
    const d = DTYPE_OF_NAME[named[2]];
    if (!d) throw new FlareError(`type(): unknown tensor type "${dtype}"`, "E_DTYPE");
    // "torch.FloatTensor" is a CPU type, "torch.cuda.FloatTensor" a CUDA one (PyTorch moves the tensor too).
    return this.to({ dtype: d, device: named[1] ? (this.device.startsWith("cuda") ? this.device : "cuda") : "cpu" });
  }
  return this.to(checkDtype(dtype, "type(): dtype"));
}
Tensor.prototype.type = typeImpl;
