// Which BLAS libtorch's matrix products run on. Debian's libtorch links
// libblas.so.3, and Debian's alternatives decide which library that is: the
// reference BLAS (netlib, unblocked loops) unless an optimised one is installed.
// On this project's machine a 1024×12544 · 12544×1024 product took 116 s on the
// reference BLAS and 5 s on OpenBLAS, one thread each (README, "Which BLAS").
import { readFileSync } from "node:fs";
import * as path from "node:path";

export type BlasKind = "reference" | "openblas" | "blis" | "mkl" | "atlas" | "unknown";

export interface BlasInfo {
  /** The BLAS library mapped into this process, as the loader resolved it (null where /proc is not there). */
  library: string | null;
  kind: BlasKind;
}

const KINDS: [RegExp, BlasKind][] = [[/openblas/i, "openblas"], [/blis/i, "blis"], [/mkl/i, "mkl"], [/atlas/i, "atlas"], [/\/blas\/libblas\.so/, "reference"]];

/** The BLAS in this process (read from /proc/self/maps once the addon, and so libtorch, is loaded). */
export function blasInUse(maps = readMaps()): BlasInfo {
  if (maps === null) return { library: null, kind: "unknown" };
  // Each line ends with the mapped file's path, as the loader resolved it.
  const files = new Set(maps.split("\n").filter((line) => line.includes("/")).map((line) => line.slice(line.indexOf("/")).trim()));
  const libraries = [...files].filter((file) => /^lib(open)?blas|^libmkl|^libblis|^libatlas/.test(path.basename(file)));
  // MKL or OpenBLAS may be linked directly (pip wheels); Debian's libtorch goes through libblas.so.3.
  for (const [pattern, kind] of KINDS) for (const file of libraries) if (pattern.test(file)) return { library: file, kind };
  return { library: libraries[0] ?? null, kind: "unknown" };
}

function readMaps(): string | null {
  try {
    return readFileSync("/proc/self/maps", "utf8");
  } catch {
    return null;
  }
}
