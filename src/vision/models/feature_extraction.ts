// Intermediate feature maps of a model, as torchvision's IntermediateLayerGetter
// (torchvision/models/_utils.py) and create_feature_extractor
// (torchvision/models/feature_extraction.py): FPN, SSD, FCN and style transfer
// take their features this way. Both are ModuleDicts holding the model's
// top-level children under their own names, so state-dict keys stay the
// model's (`layer1.0.conv1.weight`; `backbone.body.layer1...` once nested in a
// detector, as torchvision's), and both stop once the last requested feature
// map is computed.
import { FlareError } from "../../errors.js";
import * as nn from "../../nn/index.js";
import { Tensor, keep } from "../../tensor/index.js";
import { track } from "../../tensor/scope.js";

/** Output names by node: { layer1: "feat1", layer4: "out" }; a list uses the node names themselves. */
export type ReturnNodes = string[] | Record<string, string>;

function nodeMap(returnNodes: unknown, what: string): Map<string, string> {
  const entries: [unknown, unknown][] = Array.isArray(returnNodes) ? returnNodes.map((n) => [n, n])
    : returnNodes !== null && typeof returnNodes === "object" ? Object.entries(returnNodes) : [];
  if (!Array.isArray(returnNodes) && (returnNodes === null || typeof returnNodes !== "object"))
    throw new FlareError(`${what}: return nodes must be an array of node names or an object { node: outputName }, got ${String(returnNodes)}`, "E_ARGUMENT");
  if (entries.length === 0) throw new FlareError(`${what}: no return nodes given`, "E_ARGUMENT");
  const out = new Map<string, string>();
  const names = new Set<string>();
  for (const [node, name] of entries) {
    if (typeof node !== "string" || node === "") throw new FlareError(`${what}: a node name must be a non-empty string, got ${JSON.stringify(node)}`, "E_ARGUMENT");
    if (typeof name !== "string" || name === "") throw new FlareError(`${what}: the output name of node "${node}" must be a non-empty string, got ${JSON.stringify(name)}`, "E_ARGUMENT");
    if (out.has(node)) throw new FlareError(`${what}: node "${node}" is given twice`, "E_ARGUMENT");
    if (names.has(name)) throw new FlareError(`${what}: output name "${name}" is given twice`, "E_ARGUMENT");
    out.set(node, name);
    names.add(name);
  }
  return out;
}

function checkModel(model: unknown, what: string): nn.Module {
  if (!(model instanceof nn.Module)) throw new FlareError(`${what}: model must be a Module, got ${String(model)}`, "E_ARGUMENT");
  return model;
}

/** The children of `model` in order, up to and including the last one named in `needed`. */
function childrenUpTo(model: nn.Module, needed: Set<string>): [string, nn.Module][] {
  const out: [string, nn.Module][] = [];
  const left = new Set(needed);
  for (const [name, child] of model.namedChildren()) {
    if (left.size === 0) break;
    out.push([name, child]);
    left.delete(name);
  }
  return out;
}

/**
 * torchvision's IntermediateLayerGetter: the model's top-level children up to
 * the last one in returnLayers, run one after the other; forward returns
 * { outputName: featureMap } for the children in returnLayers, in order. It
 * assumes, as torchvision's, that the model's forward is its children applied
 * in registration order (true of ResNet up to layer4, VGG's features, any
 * Sequential such as d2l's small ResNet).
 */
export class IntermediateLayerGetter extends nn.ModuleDict {
  /** Output names by child name. */
  readonly returnLayers: Record<string, string>;

  constructor(model: nn.Module, returnLayers: Record<string, string>) {
    const what = "IntermediateLayerGetter()";
    checkModel(model, what);
    if (Array.isArray(returnLayers)) throw new FlareError(`${what}: returnLayers must be an object { childName: outputName }, got an array`, "E_ARGUMENT");
    const layers = nodeMap(returnLayers, what);
    const children = model.namedChildren().map(([n]) => n);
    const absent = [...layers.keys()].filter((n) => !children.includes(n));
    if (absent.length > 0)
      throw new FlareError(`${what}: return layers ${absent.map((n) => `"${n}"`).join(", ")} are not children of the model (its children: ${children.join(", ")})`, "E_ARGUMENT");
    super(childrenUpTo(model, new Set(layers.keys())));
    this.returnLayers = Object.fromEntries(layers);
  }

  override forward(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    let y: unknown = x;
    for (const [name, module] of this.entries()) {
      y = module.forward(y);
      if (Object.hasOwn(this.returnLayers, name)) out[this.returnLayers[name]] = y as Tensor;
    }
    return out;
  }
}

interface Target { node: string; name: string; path: string; module: nn.Module; call: number }

/** Thrown through the model's forward once every feature map is taken: the rest of the model doesn't run. */
const STOP = Symbol("flare.featureExtractor.stop");

/** A node: a submodule path ("layer1", "layer1.0.conv1", "features.25"), or path_k for its (k+1)-th call ("layer1.0.relu_1"). */
function resolve(model: nn.Module, node: string, what: string): { path: string; module: nn.Module; call: number } {
  const find = (path: string): nn.Module | undefined => {
    try { return model.getSubmodule(path); } catch (error) { if (error instanceof FlareError) return undefined; throw error; }
  };
  const module = find(node);
  if (module) return { path: node, module, call: 0 };
  const repeat = /^(.+)_(\d+)$/.exec(node);
  const base = repeat ? find(repeat[1]) : undefined;
  if (repeat && base) return { path: repeat[1], module: base, call: Number(repeat[2]) };
  const children = model.namedChildren().map(([n]) => n);
  throw new FlareError(`${what}: node "${node}" is not a submodule of the model (nodes are submodule paths such as "${children[0] ?? "layer1"}" or "a.b.c", ` +
    `or path_k for a module's (k+1)-th call; its children: ${children.join(", ")})`, "E_ARGUMENT");
}

/**
 * torchvision's create_feature_extractor, for nodes that are submodules: the
 * output of any submodule, by its dotted path (torchvision's node names for
 * module calls: "layer4", "layer1.0.conv1", "features.25"; a module called
 * twice per forward, as ResNet blocks' relu, has "layer1.0.relu" for its first
 * call and "layer1.0.relu_1" for the second). forward runs the model's own
 * forward, takes the requested outputs as they are computed and stops after the
 * last one; it returns { outputName: featureMap } in the order they were computed.
 * Function nodes of torchvision's traced graph ("flatten", "layer1.0.add") are not nodes here.
 */
export class FeatureExtractor extends nn.ModuleDict {
  /** Output names by node. */
  readonly returnNodes: Record<string, string>;
  readonly #model: nn.Module;
  readonly #targets: Target[];

  constructor(model: nn.Module, returnNodes: ReturnNodes) {
    const what = "createFeatureExtractor()";
    checkModel(model, what);
    const nodes = nodeMap(returnNodes, what);
    const targets: Target[] = [...nodes].map(([node, name]) => ({ node, name, ...resolve(model, node, what) }));
    // Registered: the top-level children up to the last one a node lies in (the rest never runs).
    super(childrenUpTo(model, new Set(targets.map((t) => t.path.split(".", 1)[0]))));
    this.returnNodes = Object.fromEntries(nodes);
    this.#model = model;
    this.#targets = targets;
  }

  override train(mode = true): this {
    super.train(mode);
    this.#model.train(mode);  // the whole model: its forward may run past the registered children
    return this;
  }

  override forward(...args: unknown[]): Record<string, Tensor> {
    const taken = new Map<string, Tensor>();  // output name → feature map, in the order computed
    const calls = new Map<nn.Module, number>();
    const restore: [nn.Module, unknown][] = [];
    const byModule = new Map<nn.Module, Target[]>();
    for (const t of this.#targets) byModule.set(t.module, [...(byModule.get(t.module) ?? []), t]);
    const total = this.#targets.length;
    for (const [module, targets] of byModule) {
      const original = module.forward;
      restore.push([module, original]);
      // The module's own tidy-wrapped forward, replaced for this call only.
      Object.defineProperty(module, "forward", {
        value: (...a: unknown[]) => {
          const y: unknown = original.apply(module, a);
          const k = calls.get(module) ?? 0;
          calls.set(module, k + 1);
          for (const t of targets) {
            if (t.call !== k) continue;
            if (!(y instanceof Tensor)) throw new FlareError(`createFeatureExtractor(): node "${t.node}" returned ${String(y)}, not a Tensor`, "E_TYPE");
            taken.set(t.name, keep(y));  // kept through the scopes the stop unwinds
          }
          if (taken.size === total) throw STOP;
          return y;
        },
        enumerable: false, writable: true, configurable: true,
      });
    }
    let stopped = false;
    try {
      this.#model.forward(...args);
    } catch (error) {
      if (error !== STOP) { for (const t of new Set(taken.values())) t.dispose(); throw error; }
      stopped = true;
    } finally {
      for (const [module, original] of restore) {
        Object.defineProperty(module, "forward", { value: original, enumerable: false, writable: true, configurable: true });
      }
    }
    if (!stopped) {
      for (const t of new Set(taken.values())) t.dispose();
      const missing = this.#targets.filter((t) => !taken.has(t.name)).map((t) => `"${t.node}"`);
      throw new FlareError(`createFeatureExtractor(): the model's forward never computed node(s) ${missing.join(", ")} (a module not called, or called fewer times)`, "E_ARGUMENT");
    }
    // Back under the scopes: this forward's tidy hands the result to the caller's scope.
    for (const t of new Set(taken.values())) { t.kept = false; track(t); }
    return Object.fromEntries(taken);
  }
}

/** torchvision.models.feature_extraction.create_feature_extractor(model, return_nodes), for module nodes. */
export function createFeatureExtractor(model: nn.Module, returnNodes: ReturnNodes): FeatureExtractor {
  return new FeatureExtractor(model, returnNodes);
}
