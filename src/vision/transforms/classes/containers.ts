// Compose, RandomApply, RandomChoice, RandomOrder. Their recorded parameters
// hold their own draws and their children's parameters, so a whole pipeline
// replays. With perSample, their choices are made per image and each child
// runs once on the images that chose it (a batched subset).
import { FlareError } from "../../../errors.js";
import { Tensor } from "../../../tensor/tensor.js";
import { describe } from "../_utils.js";
import type { Target } from "../target.js";
import {
  Transform, RandomTransform, applyToSubset, groupBy, probability, isPerSample,
  type RandomOptions, type TargetArg, type ImageInfo,
} from "../transform.js";
import { pytorchOptions, type PyArgs } from "../../../options.js";

function transformsArg(value: unknown, what: string): Transform[] {
  const list = value instanceof Transform ? [value] : value;
  if (!Array.isArray(list)) throw new FlareError(`${what} must be an array of transforms, got ${describe(value)}`, "E_ARGUMENT");
  list.forEach((t, i) => { if (!(t instanceof Transform)) throw new FlareError(`${what}[${i}] must be a transform, got ${describe(t)}`, "E_ARGUMENT"); });
  return list as Transform[];
}

/** Runs child i on (img, target): forward (recording into params[i]) or replay(params[i]). */
function runChild(child: Transform, img: Tensor, target: TargetArg | undefined, params: unknown, drawing: boolean): [Tensor, TargetArg | undefined, unknown] {
  const r = drawing ? child.forward(img, target) : child.replay(params, img, target);
  const [out, t] = target === undefined ? [r as Tensor, undefined] : (r as [Tensor, TargetArg]);
  return [out, t, drawing ? child.lastParams : params];
}

/** Applies the transforms in order. lastParams: one entry per transform. */
export class Compose extends Transform {
  readonly transforms: Transform[];
  constructor(transforms: Transform[], ...args: PyArgs<"transforms.Compose", { perSample?: boolean }>) {
    super();
    const options = pytorchOptions<{ perSample?: boolean }>("transforms.Compose", args, ["perSample"]);
    this.transforms = transformsArg(transforms, "Compose: transforms");
    if (options.perSample !== undefined) setPerSample(this, options.perSample);
  }
  protected apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined] {
    const drawing = params === null;
    if (!drawing && (!Array.isArray(params) || params.length !== this.transforms.length))
      throw new FlareError(`Compose.replay(): params must be an array of ${this.transforms.length} entries (lastParams of a Compose of the same transforms)`, "E_ARGUMENT");
    const recorded: unknown[] = [];
    let x = img, t = target;
    this.transforms.forEach((child, i) => {
      const [y, u, p] = runChild(child, x, t, drawing ? null : (params as unknown[])[i], drawing);
      x = y; t = u; recorded.push(p);
    });
    if (drawing) this.lastParams = recorded;
    return [x, t];
  }
  protected override checkParams(): void {}
  override toString(): string { return `Compose(\n${this.transforms.map((t) => `  ${t}`).join("\n")}\n)`; }
}

/** Sets perSample on every random transform inside (Compose, containers, leaves). */
export function setPerSample(t: Transform, value: boolean): void {
  if (t instanceof RandomTransform) t.perSample = value;
  const children = (t as { transforms?: Transform[] }).transforms;
  if (Array.isArray(children)) for (const c of children) setPerSample(c, value);
}

interface ApplyParams { applied: boolean | boolean[]; inner: unknown }

/** Applies the transforms (in order) with probability p. */
export class RandomApply extends RandomTransform<boolean> {
  readonly transforms: Compose;
  readonly p: number;
  constructor(transforms: Transform | Transform[], ...args: PyArgs<"transforms.RandomApply", RandomOptions & { p?: number }>) {
    const options = pytorchOptions<RandomOptions & { p?: number }>("transforms.RandomApply", args, ["p", "generator", "perSample"]);
    super(options);
    this.transforms = new Compose(transformsArg(transforms, "RandomApply: transforms"));
    this.p = probability(options.p ?? 0.5, "RandomApply: p");
  }
  /** torchvision 0.14: `if self.p < torch.rand(1): return img`. */
  protected sample(): boolean { return this.rng.atMost(this.p); }
  protected applyOne(): [Tensor, TargetArg | undefined] { throw new FlareError("unreachable", "E_INTERNAL"); }
  protected override getParams(img: Tensor, target: TargetArg | undefined): ApplyParams {
    const own = this.drawParams(img, target);
    return { applied: isPerSample<boolean>(own) ? own.perSample : own, inner: null };
  }
  protected override checkParams(params: unknown): void {
    const p = params as ApplyParams;
    if (!p || typeof p !== "object" || !("applied" in p)) throw new FlareError("RandomApply.replay(): params must be { applied, inner } (a RandomApply's lastParams)", "E_ARGUMENT");
  }
  protected override apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined] {
    const p = params as ApplyParams;
    const drawing = p.inner === null;
    let result: [Tensor, TargetArg | undefined];
    let inner: unknown = p.inner;
    if (Array.isArray(p.applied)) {
      const chosen = p.applied.flatMap((a, i) => (a ? [i] : []));
      result = applyToSubset(img, target as Target[] | undefined, chosen, (sub, subT) => {
        const [y, u, q] = runChild(this.transforms, sub, subT, p.inner, drawing);
        inner = q;
        return [y, u as Target[] | undefined];
      }, "RandomApply");
    } else if (p.applied) {
      const [y, u, q] = runChild(this.transforms, img, target, p.inner, drawing);
      inner = q; result = [y, u];
    } else result = [img, target];
    if (drawing) this.lastParams = { applied: p.applied, inner };
    return result;
  }
  override toString(): string { return `RandomApply(p=${this.p}, ${this.transforms.transforms.join(", ")})`; }
}

interface ChoiceParams { choice: number | number[]; inner: unknown[] | null }

/** Applies one transform, chosen at random (with weights p). */
export class RandomChoice extends RandomTransform<number> {
  readonly transforms: Transform[];
  readonly p: number[];
  constructor(transforms: Transform[], ...args: PyArgs<"transforms.RandomChoice", RandomOptions & { p?: number[] }>) {
    const options = pytorchOptions<RandomOptions & { p?: number[] }>("transforms.RandomChoice", args, ["p", "generator", "perSample"]);
    super(options);
    this.transforms = transformsArg(transforms, "RandomChoice: transforms");
    if (this.transforms.length === 0) throw new FlareError("RandomChoice: transforms must not be empty", "E_ARGUMENT");
    const p = options.p ?? this.transforms.map(() => 1);
    if (!Array.isArray(p) || p.length !== this.transforms.length || p.some((v) => typeof v !== "number" || v < 0))
      throw new FlareError(`RandomChoice: p must hold one non-negative weight per transform (${this.transforms.length}), got ${describe(p)}`, "E_ARGUMENT");
    const total = p.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new FlareError("RandomChoice: the weights p must not all be zero", "E_ARGUMENT");
    this.p = p.map((v) => v / total);
  }
  // torchvision 0.14 draws with Python's `random` module, which PyTorch's seed does not reach: flare's JavaScript generator.
  protected sample(): number {
    let u = this.jsGenerator.random();
    for (let i = 0; i < this.p.length; i++) { if (u < this.p[i]) return i; u -= this.p[i]; }
    return this.p.length - 1;
  }
  protected applyOne(): [Tensor, TargetArg | undefined] { throw new FlareError("unreachable", "E_INTERNAL"); }
  protected override getParams(img: Tensor, target: TargetArg | undefined): ChoiceParams {
    const own = this.drawParams(img, target);
    return { choice: isPerSample<number>(own) ? own.perSample : own, inner: null };
  }
  protected override checkParams(params: unknown): void {
    const p = params as ChoiceParams;
    if (!p || typeof p !== "object" || !("choice" in p)) throw new FlareError("RandomChoice.replay(): params must be { choice, inner } (a RandomChoice's lastParams)", "E_ARGUMENT");
  }
  protected override apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined] {
    const p = params as ChoiceParams;
    const drawing = p.inner === null;
    const inner: unknown[] = drawing ? this.transforms.map(() => null) : p.inner!.slice();
    let result: [Tensor, TargetArg | undefined];
    if (Array.isArray(p.choice)) {
      let x = img, t = target as Target[] | undefined;
      for (const [k, indices] of groupBy(p.choice)) {
        [x, t] = applyToSubset(x, t, indices, (sub, subT) => {
          const [y, u, q] = runChild(this.transforms[k], sub, subT, inner[k], drawing);
          inner[k] = q;
          return [y, u as Target[] | undefined];
        }, "RandomChoice");
      }
      result = [x, t];
    } else {
      const k = p.choice;
      const [y, u, q] = runChild(this.transforms[k], img, target, inner[k], drawing);
      inner[k] = q; result = [y, u];
    }
    if (drawing) this.lastParams = { choice: p.choice, inner };
    return result;
  }
  override toString(): string { return `RandomChoice(${this.transforms.join(", ")})`; }
}

interface OrderParams { order: number[] | number[][]; inner: unknown[][] | unknown[] | null }

/** Applies all the transforms in a random order. */
export class RandomOrder extends RandomTransform<number[]> {
  readonly transforms: Transform[];
  constructor(transforms: Transform[], ...args: PyArgs<"transforms.RandomOrder", RandomOptions>) {
    const options = pytorchOptions<RandomOptions>("transforms.RandomOrder", args, ["generator", "perSample"]);
    super(options);
    this.transforms = transformsArg(transforms, "RandomOrder: transforms");
  }
  // torchvision 0.14 shuffles with Python's `random` module, which PyTorch's seed does not reach: flare's JavaScript generator.
  protected sample(_info: ImageInfo): number[] { return this.jsGenerator.permutation(this.transforms.length); }
  protected applyOne(): [Tensor, TargetArg | undefined] { throw new FlareError("unreachable", "E_INTERNAL"); }
  protected override getParams(img: Tensor, target: TargetArg | undefined): OrderParams {
    const own = this.drawParams(img, target);
    return { order: isPerSample<number[]>(own) ? own.perSample : own, inner: null };
  }
  protected override checkParams(params: unknown): void {
    const p = params as OrderParams;
    if (!p || typeof p !== "object" || !Array.isArray(p.order)) throw new FlareError("RandomOrder.replay(): params must be { order, inner } (a RandomOrder's lastParams)", "E_ARGUMENT");
  }
  protected override apply(img: Tensor, target: TargetArg | undefined, params: unknown): [Tensor, TargetArg | undefined] {
    const p = params as OrderParams;
    const drawing = p.inner === null;
    const n = this.transforms.length;
    let x = img, t = target;
    if (p.order.length > 0 && Array.isArray(p.order[0])) {
      // Per sample: at each position, each transform runs on the images that put it there.
      const orders = p.order as number[][];
      const inner: unknown[][] = drawing ? Array.from({ length: n }, () => Array(n).fill(null)) : (p.inner as unknown[][]).map((r) => r.slice());
      for (let pos = 0; pos < n; pos++) {
        for (const [k, indices] of groupBy(orders.map((o) => o[pos]))) {
          [x, t] = applyToSubset(x, t as Target[] | undefined, indices, (sub, subT) => {
            const [y, u, q] = runChild(this.transforms[k], sub, subT, inner[pos][k], drawing);
            inner[pos][k] = q;
            return [y, u as Target[] | undefined];
          }, "RandomOrder");
        }
      }
      if (drawing) this.lastParams = { order: orders, inner };
      return [x, t];
    }
    const order = p.order as number[];
    const inner: unknown[] = drawing ? Array(n).fill(null) : (p.inner as unknown[]).slice();
    for (const k of order) {
      const [y, u, q] = runChild(this.transforms[k], x, t, inner[k], drawing);
      x = y; t = u; inner[k] = q;
    }
    if (drawing) this.lastParams = { order, inner };
    return [x, t];
  }
  override toString(): string { return `RandomOrder(${this.transforms.join(", ")})`; }
}
