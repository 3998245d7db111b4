// libtorch's dtype errors say what clashed, not what to write: "expected scalar
// type Long but found Float". FlareErrors made by the addon go through
// HintedFlareError, which appends the fix (`.long()`, `{ dtype: "float32" }`);
// native.ts registers it as the addon's error class.
import { FlareError, type FlareErrorCode } from "../errors.js";

// libtorch's names (ScalarType and C++ type names) → flare's dtype and conversion method.
const DTYPES: Record<string, [string, string]> = {
  Float: ["float32", ".float()"], float: ["float32", ".float()"], Double: ["float64", ".double()"], double: ["float64", ".double()"],
  Half: ["float16", ".half()"], BFloat16: ["bfloat16", ".bfloat16()"], Long: ["int64", ".long()"], "long int": ["int64", ".long()"],
  Int: ["int32", ".int()"], int: ["int32", ".int()"], Short: ["int16", ".to(\"int16\")"], Char: ["int8", ".to(\"int8\")"],
  Byte: ["uint8", ".byte()"], "unsigned char": ["uint8", ".byte()"], Bool: ["bool", ".bool()"], bool: ["bool", ".bool()"],
};
const RULE = "torch.tensor of JS numbers is float32, torch.arange / torch.full of whole numbers are int64 (README: Numbers and dtypes)";

function convert(name: string): string {
  const d = DTYPES[name];
  return d ? `${d[1]} (or create it with { dtype: "${d[0]}" })` : `.to(dtype)`;
}

/** The fix for a libtorch dtype error, or "" when the message is not one. */
export function dtypeHint(message: string): string {
  let m: RegExpExecArray | null;
  if (/only Tensors of floating point( and complex)? dtype can require gradients/i.test(message))
    return `fix: make the tensor floating point: .float() (or create it with { dtype: "float32" }; ${RULE})`;
  if ((m = /expected scalar type (\w+) but found (\w+)/.exec(message)))
    return `fix: convert the ${m[2]} tensor with ${convert(m[1])}; ${RULE}`;
  if ((m = /[Ee]xpected object of scalar type (\w+) but got scalar type (\w+)/.exec(message)))
    return `fix: convert the ${m[2]} tensor with ${convert(m[1])}; ${RULE}`;
  if ((m = /[Ff]ound dtype (\w+) but expected (\w+)/.exec(message)))
    return `fix: convert the ${m[1]} tensor with ${convert(m[2])}; ${RULE}`;
  if ((m = /result type (\w+) can't be cast to the desired output type (\w+)/.exec(message)))
    return `fix: an in-place op cannot turn a ${m[2]} tensor into ${m[1]}: convert it first with ${convert(m[1])}, or use the out-of-place op; ${RULE}`;
  if ((m = /to have (the )?same dtype, but (found|got):? ([\w ]+?) (and|!=) ([\w ]+?)$/m.exec(message)))
    return `fix: give both the same dtype, e.g. ${convert(m[3])} on the ${m[5]} one; ${RULE}`;
  if ((m = /not implemented for '(Long|Int|Short|Char|Byte|Bool)'/.exec(message)))
    return `fix: this op needs floating-point input: convert with .float() (or create it with { dtype: "float32" }); ${RULE}`;
  if (/could not infer output dtype\. Input dtype must be either a floating point/.test(message))
    return `fix: convert with .float() (or create it with { dtype: "float32" }); ${RULE}`;
  return "";
}

/** What the addon throws: a FlareError whose message ends with the fix for a dtype mismatch. */
export class HintedFlareError extends FlareError {
  constructor(message: string, code: FlareErrorCode = "E_ARGUMENT") {
    const hint = dtypeHint(message);
    super(hint ? `${message} (${hint})` : message, code);
  }
}
