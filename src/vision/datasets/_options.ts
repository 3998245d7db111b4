// A dataset's arguments as torchvision takes them (the root first, then options)
// or as one object with the root inside: both land in one checked options object.
import { FlareError } from "../../errors.js";
import { checkOptions } from "../../options.js";

export function datasetOptions<T extends { root?: string }>(rootOrOptions: unknown, options: unknown, allowed: readonly string[], what: string): T {
  if (typeof rootOrOptions === "string") {
    const rest = checkOptions(options as Record<string, unknown> | null | undefined, allowed, what);
    if ("root" in rest) throw new FlareError(`${what}: root given both by position and in the options`, "E_ARGUMENT");
    return { ...rest, root: rootOrOptions } as T;
  }
  if (rootOrOptions === null || typeof rootOrOptions !== "object")
    throw new FlareError(`${what}: expected a root folder (a string) and options, got ${rootOrOptions === undefined ? "nothing" : typeof rootOrOptions}`, "E_ARGUMENT");
  if (options !== undefined) throw new FlareError(`${what}: options given twice (put the root first: new ${what.replace("()", "")}(root, options))`, "E_ARGUMENT");
  return checkOptions(rootOrOptions as T, allowed, what);
}
