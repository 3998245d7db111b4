"""Writes docs/conformance.md: which public names of PyTorch 1.13 and torchvision 0.14
flare has, namespace by namespace (torch.*, Tensor.*, nn.*, F.*, optim.*,
torchvision.transforms.*, torchvision.transforms.functional.*, torchvision.ops.*),
with the counts. flare's names come from its built code (node on dist/, so run
`bash scripts/setup.sh` first); PyTorch's snake_case names are compared in flare's
camelCase (weight_decay → weightDecay, zero_grad → zeroGrad, add_ → add_).

    /usr/bin/python3 scripts/conformance.py [--check]

--check exits 1 when docs/conformance.md is not what the code gives now.
"""
import inspect
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
import torchvision.ops
import torchvision.transforms as T
import torchvision.transforms.functional as TF

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "conformance.md"

# flare's names, read from the built package: functions and classes of each namespace,
# and the methods and properties of Tensor (its prototype chain, getters included).
NODE = r"""
const torch = await import(process.argv[1] + "/dist/src/index.js");
const vision = await import(process.argv[1] + "/dist/src/vision/index.js");
const names = (ns) => Object.keys(ns).filter((k) => typeof ns[k] === "function");
const tensor = new Set();
for (let p = torch.Tensor.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p))
  for (const k of Object.getOwnPropertyNames(p)) if (k !== "constructor") tensor.add(k);
console.log(JSON.stringify({
  torch: names(torch), Tensor: [...tensor], nn: names(torch.nn), F: names(torch.F),
  optim: [...names(torch.optim), ...names(torch.optim.lrScheduler).map((k) => "lrScheduler." + k)],
  transforms: names(vision.transforms), "transforms.functional": names(vision.transforms.functional), ops: names(vision.ops),
}));
"""

# Helpers torch.nn.functional imports or keeps for itself, not functions a user calls.
F_INTERNAL = {"has_torch_function", "has_torch_function_unary", "has_torch_function_variadic", "handle_torch_function",
              "assert_int_or_pair", "boolean_dispatch", "native_channel_shuffle"}
TYPING = {"Callable", "List", "Optional", "Tuple", "Union", "Any", "Dict", "Sequence", "BroadcastingList1", "BroadcastingList2",
          "BroadcastingList3", "DType", "Number", "TYPE_CHECKING", "Enum", "Image", "Tensor", "InterpolationMode"}


def camel(name):
    head = re.match(r"^_*", name).group(0)
    return head + re.sub(r"_+([a-zA-Z0-9])", lambda m: m.group(1).upper(), name[len(head):])


def public(names):
    return sorted({n for n in names if not n.startswith("_") and n not in TYPING})


def functions_of(module):
    out = []
    for n in dir(module):
        v = getattr(module, n)
        if isinstance(v, types.ModuleType) or inspect.isclass(v) or not callable(v):
            continue
        out.append(n)
    return public(out)


def classes_of(module, base=None):
    return public(n for n in dir(module)
                  if inspect.isclass(getattr(module, n)) and (base is None or issubclass(getattr(module, n), base)))


def pytorch_names():
    lr = torch.optim.lr_scheduler
    schedulers = [n for n in classes_of(lr) if issubclass(getattr(lr, n), lr._LRScheduler) or n == "ReduceLROnPlateau"]
    return {
        "torch": functions_of(torch),
        "Tensor": public(n for n in dir(torch.Tensor) if not n.startswith("__")),
        "nn": classes_of(torch.nn, torch.nn.Module) + ["Parameter"],
        "F": [n for n in functions_of(F) if n not in F_INTERNAL and getattr(getattr(F, n), "__module__", "") in ("torch.nn.functional", None) or
              inspect.isbuiltin(getattr(F, n))],
        "optim": classes_of(torch.optim, torch.optim.Optimizer) + ["lr_scheduler." + n for n in schedulers],
        "transforms": sorted(T.__all__ if hasattr(T, "__all__") else classes_of(T)),
        "transforms.functional": [n for n in functions_of(TF) if getattr(getattr(TF, n), "__module__", "").startswith("torchvision.transforms")],
        "ops": sorted(torchvision.ops.__all__),
    }


def flare_names():
    out = subprocess.run(["node", "--input-type=module", "-e", NODE, str(ROOT)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"could not read flare's names from dist/ (run bash scripts/setup.sh first):\n{out.stderr}")
    return json.loads(out.stdout)


TITLES = {
    "torch": ("torch.*", "functions of the `torch` module (flare: top-level functions of `flare`)"),
    "Tensor": ("Tensor.*", "methods and properties of `torch.Tensor`"),
    "nn": ("torch.nn.*", "modules (nn.Module subclasses) and Parameter"),
    "F": ("torch.nn.functional.*", "functions (flare: `F`)"),
    "optim": ("torch.optim.*", "optimizers and `lr_scheduler` classes (flare: `optim`, `optim.lrScheduler`)"),
    "transforms": ("torchvision.transforms.*", "transform classes (flare: `transforms` from `flare/vision`)"),
    "transforms.functional": ("torchvision.transforms.functional.*", "functions (flare: `transforms.functional`)"),
    "ops": ("torchvision.ops.*", "box and detection ops (flare: `ops` from `flare/vision`)"),
}


def render():
    py, fl = pytorch_names(), flare_names()
    rows, sections = [], []
    for key, (title, what) in TITLES.items():
        flare_set = set(fl[key])
        lower = {n.lower(): n for n in flare_set}
        have, missing, matched = [], [], set()
        for name in py[key]:
            c = camel(name.replace("lr_scheduler.", "lrScheduler."))
            hit = c if c in flare_set else lower.get(c.lower())
            (have if hit else missing).append((name, hit))
            if hit:
                matched.add(hit)
        extra = sorted(n for n in flare_set if n not in matched and not n.startswith("_"))
        rows.append(f"| [{title}](#{re.sub(r'[^a-z0-9]+', '', title.lower())}) | {len(have)} | {len(py[key])} | {100 * len(have) // max(1, len(py[key]))}% | {len(extra)} |")
        fmt = lambda pairs: ", ".join(f"`{n}`" if h == camel(n) or h is None else f"`{n}` (`{h}`)" for n, h in pairs) or "none"
        sections.append(f"## {title}\n\n{what}. Has {len(have)} of {len(py[key])}.\n\n"
                        f"**Have** ({len(have)}): {fmt(have)}\n\n**Missing** ({len(missing)}): {fmt(missing)}\n\n"
                        f"**flare only** ({len(extra)}): {', '.join(f'`{n}`' for n in extra) or 'none'}\n")
    return ("# Conformance: flare's names against PyTorch's and torchvision's\n\n"
            f"Generated by `scripts/conformance.py` from PyTorch {torch.__version__} and torchvision {torchvision.__version__} "
            "and flare's built code: do not edit. A PyTorch name counts as present when flare exports its camelCase form "
            "(`zero_grad` → `zeroGrad`; a case-only difference is shown in brackets). Present means the name exists, "
            "not that every argument of it does.\n\n"
            "| Namespace | flare has | PyTorch / torchvision public | share | flare only |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n\n" + "\n".join(sections))


def main():
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run /usr/bin/python3 scripts/conformance.py")
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(text[:text.index("\n## ")], file=sys.stderr)


if __name__ == "__main__":
    main()
