// Finds the libtorch to build against, in this order:
//   1. FLARE_LIBTORCH or LIBTORCH: a libtorch folder (include/, lib/), e.g. the
//      unzipped CPU or CUDA libtorch from pytorch.org or a pip wheel's torch/;
//   2. a Python torch that ships its headers (pip wheel), found through
//      torch.utils.cmake_prefix_path with FLARE_PYTHON or python3;
//   3. the system: Debian's libtorch-dev (headers in /usr/include/torch).
// Prints nothing itself; binding.gyp reads the fields it needs.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

function fromFolder(root, origin) {
  const lib = path.join(root, "lib");
  return { origin, include: [path.join(root, "include"), path.join(root, "include/torch/csrc/api/include")], lib };
}

function fromPython() {
  const python = process.env.FLARE_PYTHON || "python3";
  try {
    const out = execFileSync(python, ["-c",
      "import torch, torch.utils, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"],
    { stdio: ["ignore", "pipe", "ignore"], encoding: "utf8" }).trim().split("\n");
    const root = out[0];
    if (!fs.existsSync(path.join(root, "include/torch/torch.h")) && !fs.existsSync(path.join(root, "include/torch/csrc/api/include/torch/torch.h"))) return null;
    return { ...fromFolder(root, `python (${python})`), abi: out[1] };
  } catch { return null; }
}

function fromSystem() {
  const multiarch = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];
  const lib = multiarch.find((dir) => fs.existsSync(path.join(dir, "libtorch_cpu.so")));
  if (!lib || !fs.existsSync("/usr/include/torch/csrc/api/include/torch/torch.h")) return null;
  return { origin: "system", include: ["/usr/include", "/usr/include/torch/csrc/api/include"], lib };
}

// The C++11 ABI of a library, read from its symbols (sharp's trick), when Python cannot say.
function abiOf(lib) {
  try {
    const out = execFileSync("sh", ["-c", `nm -DC ${path.join(lib, "libc10.so")} | grep -c __cxx11 || true`], { encoding: "utf8" });
    return Number(out.trim()) > 0 ? "1" : "0";
  } catch { return "1"; }
}

function locate() {
  const dir = process.env.FLARE_LIBTORCH || process.env.LIBTORCH;
  const found = dir ? fromFolder(dir, "FLARE_LIBTORCH") : fromPython() || fromSystem();
  if (!found) {
    throw new Error("flare: libtorch not found. Install Debian's libtorch-dev (apt-get install libtorch-dev libgloo-dev), " +
      "or set FLARE_LIBTORCH to an unzipped libtorch, or install torch for python3.");
  }
  const has = (name) => fs.existsSync(path.join(found.lib, name));
  const glooHeaders = [...found.include, "/usr/include"].some((inc) => fs.existsSync(path.join(inc, "gloo/config.h")));
  const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
  if (has("libgloo.so") || fs.existsSync("/usr/lib/libgloo.so")) libs.push("-lgloo");
  const cuda = has("libtorch_cuda.so");
  if (cuda) libs.unshift("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed");
  return {
    ...found,
    abi: found.abi ?? abiOf(found.lib),
    libs: libs.join(" "),
    defines: [glooHeaders ? "FLARE_WITH_GLOO USE_DISTRIBUTED USE_C10D_GLOO" : "", cuda ? "FLARE_WITH_CUDA" : ""].join(" ").trim(),
    cuda,
  };
}

module.exports = locate();
if (require.main === module) console.log(JSON.stringify(module.exports, null, 2));
