// PyTorch's torch.Generator (libtorch's mt19937 CPU generator) and the draws
// torchvision and torch.utils.data make from it, so that after
// torch.manualSeed(s) flare's shuffles and augmentations equal PyTorch's.
//
// "The default generator" is libtorch's on the main thread. A DataLoader worker
// thread gets one of its own (setThreadGenerator), seeded with base_seed + id as
// PyTorch seeds a worker process: threads share libtorch's generator, processes
// do not. (flare's `Generator` is a different thing: a fast JavaScript generator
// that torch.manualSeed also seeds, for flare's own randomness.)
import { FlareError } from "../errors.js";
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";
import { Generator } from "./random.js";

type GeneratorHandle = { readonly __generator: unique symbol };
interface GeneratorNative {
  generatorNew(seed: number | bigint): GeneratorHandle;
  generatorManualSeed(g: GeneratorHandle, seed: number | bigint): void;
  generatorInitialSeed(g: GeneratorHandle | null): bigint;
  generatorGetState(g: GeneratorHandle): Handle;
  generatorSetState(g: GeneratorHandle, state: Handle): void;
  randomFill(kind: "uniform" | "random" | "randomFromTo" | "normal" | "bernoulli", t: Handle, g: GeneratorHandle | null, a?: number, b?: number): void;
  randperm(n: number, g: GeneratorHandle | null): Handle;
  randomDraw(kind: "uniform" | "expUniform" | "normal" | "randint", g: GeneratorHandle | null, a: number, b: number): number;
  randomSeed(g: GeneratorHandle | null): bigint;
}
const nat = native as unknown as GeneratorNative;

/** torch.Generator()'s seed before manual_seed (c10's default_rng_seed_val). */
export const DEFAULT_RNG_SEED = 67280421310721n;

function checkSeed(seed: unknown, what: string): number | bigint {
  if (typeof seed === "bigint") {
    if (seed < 0n || seed >= 1n << 64n) throw new FlareError(`${what}: seed must be in [0, 2^64), got ${seed}`, "E_ARGUMENT");
    return seed;
  }
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0)
    throw new FlareError(`${what}: seed must be a non-negative integer (a number up to 2^53, or a bigint), got ${String(seed)}`, "E_ARGUMENT");
  return seed;
}

/** torch.Generator: libtorch's CPU generator, with PyTorch's stream for a given seed. */
export class TorchGenerator {
  /** @internal */
  readonly handle: GeneratorHandle;
  constructor(seed: number | bigint = DEFAULT_RNG_SEED) {
    this.handle = nat.generatorNew(checkSeed(seed, "new TorchGenerator()"));
  }
  /** Reseeds, as generator.manual_seed(seed). */
  manualSeed(seed: number | bigint): this {
    nat.generatorManualSeed(this.handle, checkSeed(seed, "TorchGenerator.manualSeed()"));
    return this;
  }
  /** The seed it was last seeded with. */
  initialSeed(): bigint { return nat.generatorInitialSeed(this.handle); }
  /** The state (a uint8 tensor), as generator.get_state(). */
  getState(): Tensor { return new Tensor(nat.generatorGetState(this.handle)); }
  setState(state: Tensor): this {
    if (!(state instanceof Tensor)) throw new FlareError("TorchGenerator.setState(): state must be a tensor from getState()", "E_ARGUMENT");
    nat.generatorSetState(this.handle, state.handle);
    return this;
  }
}

/** A generator option: a TorchGenerator (PyTorch's draws) or flare's JavaScript Generator (flare's own stream). */
export type AnyGenerator = TorchGenerator | Generator;

/** Checks a `generator` option (samplers, DataLoader, randomSplit, random transforms); null and undefined mean the default. */
export function checkGenerator(g: unknown, what: string): AnyGenerator | undefined {
  if (g === undefined || g === null) return undefined;
  if (g instanceof TorchGenerator || g instanceof Generator) return g;
  throw new FlareError(`${what}: generator must be a torch.TorchGenerator or a torch.Generator, got ${typeof g === "object" ? "an object" : typeof g}`, "E_TYPE");
}

let threadGenerator: TorchGenerator | null = null;

/**
 * Internal (DataLoader workers): makes `g` this thread's default generator for
 * the draws below (null: libtorch's default again). libtorch ops called without a
 * generator (torch.randn, layer init) still use libtorch's process-wide one.
 */
export function setThreadGenerator(g: TorchGenerator | null): void { threadGenerator = g; }

function handleOf(g: TorchGenerator | null | undefined): GeneratorHandle | null {
  const chosen = g ?? threadGenerator;
  return chosen ? chosen.handle : null;
}

/** torch.rand(1).item(): a float32 in [0, 1). */
export function rand1(g?: TorchGenerator | null): number { return nat.randomDraw("uniform", handleOf(g), 0, 1); }

function checkUniform(low: number, high: number): void {
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) throw new FlareError(`uniform_(): needs finite numbers from <= to, got [${low}, ${high})`, "E_ARGUMENT");
}

/** torch.empty(1).uniform_(low, high).item(): a float32 (torchvision's way to draw a factor). */
export function uniform1(low: number, high: number, g?: TorchGenerator | null): number {
  checkUniform(low, high);
  return nat.randomDraw("uniform", handleOf(g), low, high);
}

/** torch.exp(torch.empty(1).uniform_(low, high)).item(): float32 draw and exp, as torchvision's aspect ratios. */
export function expUniform1(low: number, high: number, g?: TorchGenerator | null): number {
  checkUniform(low, high);
  return nat.randomDraw("expUniform", handleOf(g), low, high);
}

/** torch.randint(low, high, (1,)).item(). */
export function randint1(low: number, high: number, g?: TorchGenerator | null): number {
  if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high <= low)
    throw new FlareError(`randint(): needs integers low < high, got [${low}, ${high})`, "E_ARGUMENT");
  return nat.randomDraw("randint", handleOf(g), low, high);
}

/** torch.randint(0, high, (n,)).tolist() — several draws in one call. */
export function randintN(high: number, n: number, g?: TorchGenerator | null): number[] {
  const h = native.fromBuffer(new BigInt64Array(n), [n], "int64");
  try {
    nat.randomFill("randomFromTo", h, handleOf(g), 0, high);
    return Array.from(new BigInt64Array(native.toBuffer(h)), Number);
  } finally {
    native.dispose(h);
  }
}

/** int(torch.empty((), dtype=torch.int64).random_(generator=g).item()): how PyTorch draws a seed from a generator. */
export function randomSeed(g?: TorchGenerator | null): bigint { return nat.randomSeed(handleOf(g)); }

/** Largest n for randperm (an int64 tensor of n elements: 1 GiB at the bound). */
export const MAX_RANDPERM = 2 ** 27;

function checkRandpermSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new FlareError(`randperm(): n must be a non-negative integer, got ${String(n)}`, "E_ARGUMENT");
  if (n > MAX_RANDPERM) throw new FlareError(`randperm(): n = ${n} is above flare's bound of ${MAX_RANDPERM} (2^27) elements`, "E_ARGUMENT");
}

/** torch.randperm(n, generator=g) as an int64 tensor. */
export function randperm(n: number, g?: TorchGenerator | null): Tensor {
  checkRandpermSize(n);
  return new Tensor(nat.randperm(n, handleOf(g)));
}

/** torch.randperm(n, generator=g).tolist(), for small n (a transform's order of ops). */
export function randpermList(n: number, g?: TorchGenerator | null): number[] {
  checkRandpermSize(n);
  const h = nat.randperm(n, handleOf(g));
  try {
    return Array.from(new BigInt64Array(native.toBuffer(h)), Number);
  } finally {
    native.dispose(h);
  }
}
