// Fine-tuning as d2l 14.2 describes it: reuse a trained body, replace the last
// classification layer (xavier-initialised), keep the source normalisation,
// and either freeze the lower layers or train them with a smaller lr than the
// new head (params_1x and a 10× head).
import { FlareError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import * as nn from "../nn/index.js";
import type { ParamGroupInput } from "../optim/optimizer.js";

/** The name of a model's last Linear layer ("fc" for torchvision's ResNets, "9" for d2l's Sequential). */
export function headName(model: nn.Module): string {
  let last: string | undefined;
  for (const [name, module] of model.namedModules()) if (module instanceof nn.Linear) last = name;
  if (!last) throw new FlareError(`${model.constructor.name} has no Linear layer to replace`, "E_ARGUMENT");
  return last;
}

/** Replaces the head with a new Linear(inFeatures, numClasses), xavier-uniform weights, zero bias. */
export function replaceHead(model: nn.Module, numClasses: number, name = headName(model)): nn.Linear {
  const parts = name.split(".");
  const parentName = parts.slice(0, -1).join(".");
  const parent = parentName ? model.getSubmodule(parentName) : model;
  const old = parent.getSubmodule(parts[parts.length - 1]) as nn.Linear;
  const head = new nn.Linear(old.inFeatures, numClasses);
  nn.init.xavierUniform_(head.weight);
  nn.init.zeros_(head.bias!);
  if (parent instanceof nn.Sequential) parent.set(Number(parts[parts.length - 1]), head);
  else (parent as unknown as Record<string, nn.Module>)[parts[parts.length - 1]] = head;
  old.dispose();
  return head;
}

/** Stops gradients for every parameter under the given module-name prefixes ("layer1", "0", ...). */
export function freeze(model: nn.Module, prefixes: string[]): number {
  let frozen = 0;
  for (const [name, p] of model.namedParameters()) {
    if (prefixes.some((prefix) => name === prefix || name.startsWith(prefix + "."))) { p.requiresGrad_(false); frozen++; }
  }
  if (prefixes.length > 0 && frozen === 0) throw new FlareError(`freeze(): no parameters under ${prefixes.join(", ")}`, "E_ARGUMENT");
  return frozen;
}

/** Two parameter groups: the body at `lr`, the head at `lr * headLrMult` (frozen parameters left out). */
export function finetuneParamGroups(model: nn.Module, lr: number, headLrMult = 10, head = headName(model)): ParamGroupInput[] {
  const body: Tensor[] = [], top: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    (name.startsWith(head + ".") ? top : body).push(p);
  }
  return [{ params: body, lr }, { params: top, lr: lr * headLrMult }].filter((g) => g.params.length > 0);
}
