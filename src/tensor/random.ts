// Seeding. manualSeed seeds libtorch's generator and flare's own generator,
// which transforms, shuffling and data generators draw from.
import { FlareError } from "../errors.js";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** A small, fast, seedable generator (mulberry32) for JavaScript-side randomness. */
export class Generator {
  private state: number;
  constructor(seed = 0) { this.state = seed >>> 0; }
  manualSeed(seed: number): this { this.state = seed >>> 0; return this; }
  /** The state, to save and restore (a checkpoint keeps it). */
  getState(): number { return this.state; }
  setState(state: number): void { this.state = state >>> 0; }
  /** Uniform in [0, 1). */
  random(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [low, high). */
  uniform(low = 0, high = 1): number { return low + (high - low) * this.random(); }
  /** An integer in [low, high). */
  randint(low: number, high: number): number { return low + Math.floor(this.random() * (high - low)); }
  /** Standard normal (Box-Muller). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.random(), v = this.random();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(this.random() * (i + 1)); [out[i], out[j]] = [out[j], out[i]]; }
    return out;
  }
}

/** flare's default JavaScript-side generator. */
export const defaultGenerator = new Generator(0);

/** Seeds libtorch (CPU and CUDA) and flare's default generator, as torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new FlareError(`manualSeed(): seed must be a non-negative integer, got ${String(seed)}`, "E_ARGUMENT");
  native.manualSeed(seed);
  defaultGenerator.manualSeed(seed);
}

/** libtorch's CPU generator state (a uint8 tensor), as torch.get_rng_state. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}

/** Restores a state from getRngState(), as torch.set_rng_state. */
export function setRngState(state: Tensor): void {
  if (!(state instanceof Tensor)) throw new FlareError(`setRngState(state): state must be the uint8 Tensor that getRngState() returns, got ${state === null ? "null" : typeof state}`, "E_TYPE");
  native.setRngState(state.handle);
}
