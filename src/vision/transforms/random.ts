// Where a random transform's parameters come from. By default, PyTorch's
// generator, drawn as torchvision 0.14 draws (torch.rand(1), torch.randint(lo,
// hi, (1,)), torch.empty(1).uniform_(lo, hi), torch.randperm(n), float32 log /
// exp), so the same seed gives the same augmentations as a PyTorch run. With a
// flare JavaScript torch.Generator as `generator`, flare's own fast stream
// (not PyTorch's numbers).
import { Generator } from "../../tensor/random.js";
import { TorchGenerator, expUniform1, type AnyGenerator, rand1, randint1, randpermList, uniform1 } from "../../tensor/generator.js";
import { tensor } from "../../tensor/creation.js";
import { tidy } from "../../tensor/scope.js";

export type TransformGenerator = AnyGenerator;

export interface RandomSource {
  /** torch.rand(1).item(): uniform in [0, 1). */
  random(): number;
  /** torch.empty(1).uniform_(low, high).item(). */
  uniform(low: number, high: number): number;
  /** torch.randint(low, high, (1,)).item(). */
  randint(low: number, high: number): number;
  /** torch.randperm(n).tolist(). */
  permutation(n: number): number[];
  /** torch.exp(torch.empty(1).uniform_(*torch.log(torch.tensor(ratio)))).item(): an aspect ratio drawn log-uniformly. */
  logUniform(ratio: readonly [number, number]): number;
  /** `torch.rand(1) < p` (float32 comparison, as PyTorch compares a float tensor with a number). */
  below(p: number): boolean;
  /** `not (p < torch.rand(1))`, RandomApply's test. */
  atMost(p: number): boolean;
}

const logs = new Map<string, number[]>();
/** torch.log(torch.tensor(ratio)).tolist(), remembered (a transform's ratio is fixed). */
function float32Log(ratio: readonly [number, number]): number[] {
  const key = `${ratio[0]},${ratio[1]}`;
  let out = logs.get(key);
  if (!out) {
    out = tidy(() => tensor([ratio[0], ratio[1]], { dtype: "float32" }).log().tolist() as number[]);
    if (logs.size < 1024) logs.set(key, out);
  }
  return out;
}

class TorchSource implements RandomSource {
  constructor(readonly generator: TorchGenerator | undefined) {}
  random(): number { return rand1(this.generator); }
  uniform(low: number, high: number): number { return uniform1(low, high, this.generator); }
  randint(low: number, high: number): number { return randint1(low, high, this.generator); }
  permutation(n: number): number[] { return randpermList(n, this.generator); }
  logUniform(ratio: readonly [number, number]): number {
    // The float32 log and exp of libtorch itself (as torchvision computes them), not JavaScript's double ones.
    const [lo, hi] = float32Log(ratio);
    return expUniform1(lo, hi, this.generator);
  }
  below(p: number): boolean { return this.random() < Math.fround(p); }
  atMost(p: number): boolean { return !(Math.fround(p) < this.random()); }
}

class JsSource implements RandomSource {
  constructor(readonly generator: Generator) {}
  random(): number { return this.generator.random(); }
  uniform(low: number, high: number): number { return this.generator.uniform(low, high); }
  randint(low: number, high: number): number { return this.generator.randint(low, high); }
  permutation(n: number): number[] { return this.generator.permutation(n); }
  logUniform(ratio: readonly [number, number]): number { return Math.exp(this.generator.uniform(Math.log(ratio[0]), Math.log(ratio[1]))); }
  below(p: number): boolean { return this.random() < p; }
  atMost(p: number): boolean { return !(p < this.random()); }
}

const defaultSource = new TorchSource(undefined);
const sources = new WeakMap<object, RandomSource>();

/** The source for a transform's `generator` (undefined: PyTorch's default generator of this thread). */
export function randomSource(generator: TransformGenerator | undefined): RandomSource {
  if (generator === undefined) return defaultSource;
  let source = sources.get(generator);
  if (!source) {
    source = generator instanceof TorchGenerator ? new TorchSource(generator) : new JsSource(generator);
    sources.set(generator, source);
  }
  return source;
}
