// The model builders' options go through src/options.ts' checkOptions; torchvision's
// `pretrained` (and `weights` on a builder) get a pointer to where flare loads weights.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";

export function builderOptions<T extends object>(options: T | undefined, allowed: readonly string[], name: string): T {
  for (const key of ["pretrained", "weights", "progress"]) {
    if (options !== null && typeof options === "object" && key in options)
      throw new FlareError(`models.${name}(): unknown option "${key}": the builders make randomly initialised models; load a weights file with models.get("${name.replace(/Bn$/, "_bn")}", { weights: "file.safetensors" })`, "E_ARGUMENT");
  }
  return checkOptions(options, allowed, `models.${name}()`);
}
