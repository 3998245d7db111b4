// Learning-rate schedulers (torch.optim.lr_scheduler of PyTorch 1.13): each computes the
// new lr of every parameter group exactly as PyTorch does (its recursive "chainable" form
// on step(), its closed form on step(epoch)), so the sequences match PyTorch's.
import { FlareError } from "../errors.js";
import { Optimizer, type ParamGroup } from "./optimizer.js";
import { pytorchOptions, type PyArgs } from "../options.js";
import { describe } from "../validate.js";

export interface LastEpochOptions { lastEpoch?: number }
export interface GammaOptions extends LastEpochOptions { gamma?: number }
export interface CosineAnnealingLROptions extends LastEpochOptions { etaMin?: number }
export interface LinearLROptions extends LastEpochOptions { startFactor?: number; endFactor?: number; totalIters?: number }

/** A scheduler's state: plain JSON-serializable values (no optimizer, no functions). */
export type SchedulerStateDict = Record<string, unknown>;

/** Python's a % b (the sign of b). */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Python's bisect.bisect_right on a sorted array. */
function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < sorted[mid]) hi = mid; else lo = mid + 1;
  }
  return lo;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function checkOptimizer(optimizer: unknown, who: string): asserts optimizer is Optimizer {
  if (!(optimizer instanceof Optimizer)) {
    throw new FlareError(`${who}: expected an Optimizer, got ${describe(optimizer)}`, "E_TYPE");
  }
}

/**
 * Base of the schedulers (torch.optim.lr_scheduler._LRScheduler). A scheduler takes its
 * initial step when made (so the optimizer's lrs are the schedule's first values); call
 * step() once per epoch (or per batch, for OneCycleLR) after optimizer.step().
 * Subclasses set their fields and then call `this.initialStep()` at the end of their
 * constructor (JavaScript defines subclass fields only after the base constructor returns).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Each group's initialLr when the scheduler was made. */
  baseLrs: number[];
  /** The index of the last step taken: 0 after construction. */
  lastEpoch: number;
  /** @internal How many times step() ran (PyTorch's _step_count). */
  stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer, lastEpoch = -1) {
    checkOptimizer(optimizer, new.target.name);
    this.optimizer = optimizer;
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new FlareError(`lastEpoch must be an integer >= -1, got ${lastEpoch}`, "E_ARGUMENT");
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups) if (group.initialLr === undefined) group.initialLr = group.lr;
    } else {
      optimizer.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) {
          throw new FlareError(`param "initialLr" is not specified in paramGroups[${i}] when resuming an optimizer`, "E_STATE");
        }
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** @internal The step every scheduler takes when made (SequentialLR re-takes it). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The new lr of every group, in PyTorch's recursive form (reads the groups' current lrs). */
  protected abstract getLr(): number[];

  /** The lr of every group at `lastEpoch` in closed form, where the scheduler has one. */
  protected closedFormLr?(): number[];

  /**
   * Advances the schedule by one and sets each group's lr. `epoch` (deprecated in
   * PyTorch) jumps to that epoch instead, using the closed form where there is one.
   */
  step(epoch?: number): void {
    this.stepCount += 1;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr ? this.closedFormLr() : this.getLr();
    }
    this.optimizer.paramGroups.forEach((group, i) => { group.lr = values[i]; });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The lrs the last step set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected get groups(): ParamGroup[] {
    return this.optimizer.paramGroups;
  }

  /** Keys stateDict leaves out besides the optimizer (functions, nested schedulers). */
  protected get unsavedKeys(): string[] { return []; }

  /** The scheduler's state (every field but the optimizer and functions), JSON-serializable. */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [key, value] of Object.entries(this)) {
      if (key === "optimizer" || typeof value === "function" || this.unsavedKeys.includes(key)) continue;
      out[key] = structuredClone(value);
    }
    return out;
  }

  /** Restores a state made by stateDict() (load the optimizer's state too). */
  loadStateDict(state: SchedulerStateDict): void {
    if (state === null || typeof state !== "object") throw new FlareError("loadStateDict(): expected a scheduler state dict object", "E_STATE");
    for (const [key, value] of Object.entries(state)) {
      if (key === "optimizer" || this.unsavedKeys.includes(key)) continue;
      if (!(key in this) || typeof (this as Record<string, unknown>)[key] === "function") {
        throw new FlareError(`loadStateDict(): ${this.constructor.name} has no state "${key}"`, "E_STATE");
      }
      (this as Record<string, unknown>)[key] = structuredClone(value);
    }
  }
}

/** Multiplies each group's initial lr by lrLambda(epoch) (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  lrLambdas: ((epoch: number) => number)[];

  constructor(optimizer: Optimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[], ...args: PyArgs<"optim.lrScheduler.LambdaLR", LastEpochOptions>) {
    const options = pytorchOptions<LastEpochOptions>("optim.lrScheduler.LambdaLR", args, ["lastEpoch"], "new LambdaLR()");
    super(optimizer, options.lastEpoch);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== n) throw new FlareError(`Expected ${n} lrLambdas, but got ${lrLambda.length}`, "E_ARGUMENT");
      this.lrLambdas = [...lrLambda];
    } else {
      this.lrLambdas = new Array(n).fill(lrLambda);
    }
    if (this.lrLambdas.some((f) => typeof f !== "function")) throw new FlareError("LambdaLR: lrLambda must be a function or a list of functions", "E_TYPE");
    this.initialStep();
  }

  protected override get unsavedKeys(): string[] { return ["lrLambdas"]; }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }
}

/** Decays each group's lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  /** new StepLR(opt, 30, { gamma: 0.1 }) or new StepLR(opt, 30, 0.1). */
  constructor(optimizer: Optimizer, stepSize: number, ...args: PyArgs<"optim.lrScheduler.StepLR", GammaOptions>) {
    const options = pytorchOptions<GammaOptions>("optim.lrScheduler.StepLR", args, ["gamma", "lastEpoch"], "new StepLR()");
    super(optimizer, options.lastEpoch);
    if (!isPositiveInteger(stepSize)) throw new FlareError(`StepLR: stepSize must be a positive integer, got ${stepSize}`, "E_ARGUMENT");
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || pyMod(this.lastEpoch, this.stepSize) !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Decays each group's lr by gamma at each milestone (a milestone given twice decays by gamma²). */
export class MultiStepLR extends LRScheduler {
  /** Sorted, with repeats (PyTorch keeps a Counter). */
  milestones: number[];
  gamma: number;

  constructor(optimizer: Optimizer, milestones: number[], ...args: PyArgs<"optim.lrScheduler.MultiStepLR", GammaOptions>) {
    const options = pytorchOptions<GammaOptions>("optim.lrScheduler.MultiStepLR", args, ["gamma", "lastEpoch"], "new MultiStepLR()");
    super(optimizer, options.lastEpoch);
    if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m))) {
      throw new FlareError("MultiStepLR: milestones must be a list of integers", "E_ARGUMENT");
    }
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

/** Multiplies each group's lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: Optimizer, gamma: number, ...args: PyArgs<"optim.lrScheduler.ExponentialLR", LastEpochOptions>) {
    const options = pytorchOptions<LastEpochOptions>("optim.lrScheduler.ExponentialLR", args, ["lastEpoch"], "new ExponentialLR()");
    super(optimizer, options.lastEpoch);
    if (typeof gamma !== "number" || Number.isNaN(gamma)) throw new FlareError(`ExponentialLR: gamma must be a number, got ${gamma}`, "E_ARGUMENT");
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/**
 * Cosine annealing from each group's initial lr down to etaMin over tMax epochs (and back
 * up over the next tMax, as PyTorch's recursive form does when stepped past tMax).
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: Optimizer, tMax: number, ...args: PyArgs<"optim.lrScheduler.CosineAnnealingLR", CosineAnnealingLROptions>) {
    const options = pytorchOptions<CosineAnnealingLROptions>("optim.lrScheduler.CosineAnnealingLR", args, ["etaMin", "lastEpoch"], "new CosineAnnealingLR()");
    super(optimizer, options.lastEpoch);
    if (!isPositiveInteger(tMax)) throw new FlareError(`CosineAnnealingLR: tMax must be a positive integer, got ${tMax}`, "E_ARGUMENT");
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + (base - etaMin) * (1 + Math.cos(e * Math.PI / tMax)) / 2);
    }
    if (pyMod(e - 1 - tMax, 2 * tMax) === 0) {
      return this.groups.map((g, i) => g.lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2);
    }
    return this.groups.map((g) =>
      (1 + Math.cos(Math.PI * e / tMax)) / (1 + Math.cos(Math.PI * (e - 1) / tMax)) * (g.lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + (base - this.etaMin) * (1 + Math.cos(Math.PI * this.lastEpoch / this.tMax)) / 2);
  }
}

/**
 * Scales each group's lr linearly from startFactor to endFactor over totalIters epochs, then
 * holds it: the usual linear warmup (startFactor in (0, 1], endFactor in [0, 1]).
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: Optimizer, ...args: PyArgs<"optim.lrScheduler.LinearLR", LinearLROptions>) {
    const options = pytorchOptions<LinearLROptions>("optim.lrScheduler.LinearLR", args, ["startFactor", "endFactor", "totalIters", "lastEpoch"], "new LinearLR()");
    super(optimizer, options.lastEpoch);
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = options;
    if (!(typeof startFactor === "number" && startFactor > 0 && startFactor <= 1)) {
      throw new FlareError(`LinearLR: startFactor must be in (0, 1], got ${startFactor}`, "E_ARGUMENT");
    }
    if (!(typeof endFactor === "number" && endFactor >= 0 && endFactor <= 1)) {
      throw new FlareError(`LinearLR: endFactor must be in [0, 1], got ${endFactor}`, "E_ARGUMENT");
    }
    if (!isPositiveInteger(totalIters)) throw new FlareError(`LinearLR: totalIters must be a positive integer, got ${totalIters}`, "E_ARGUMENT");
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((base) => base * (s + (f - s) * Math.min(n, e) / n));
  }
}

/**
 * Runs schedulers one after another: schedulers[i] from milestones[i-1] on (e.g. LinearLR
 * warmup for 5 epochs, then CosineAnnealingLR). All must drive `optimizer`.
 */
export class SequentialLR extends LRScheduler {
  schedulers: LRScheduler[];
  milestones: number[];

  constructor(optimizer: Optimizer, schedulers: LRScheduler[], milestones: number[], ...args: PyArgs<"optim.lrScheduler.SequentialLR", LastEpochOptions>) {
    const options = pytorchOptions<LastEpochOptions>("optim.lrScheduler.SequentialLR", args, ["lastEpoch"], "new SequentialLR()");
    super(optimizer, options.lastEpoch);
    if (!Array.isArray(schedulers) || schedulers.length === 0 || schedulers.some((s) => !(s instanceof LRScheduler))) {
      throw new FlareError("SequentialLR: schedulers must be a non-empty list of schedulers", "E_ARGUMENT");
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new FlareError(`SequentialLR expects all schedulers to belong to the same optimizer, but the scheduler at index ${i} drives a different one`, "E_ARGUMENT");
      }
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new FlareError(`SequentialLR expects one milestone fewer than schedulers, but got ${schedulers.length} schedulers and ${Array.isArray(milestones) ? milestones.length : "no"} milestones`, "E_ARGUMENT");
    }
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    // Reset the lrs the schedulers' own initial steps changed, undo those steps, and
    // take the first scheduler's initial step only.
    for (const group of optimizer.paramGroups) group.lr = group.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  protected getLr(): number[] {
    return this.groups.map((g) => g.lr);
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  protected override get unsavedKeys(): string[] { return ["schedulers"]; }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    super.loadStateDict(state);
    const saved = state.schedulers;
    if (!Array.isArray(saved) || saved.length !== this.schedulers.length) {
      throw new FlareError(`loadStateDict(): expected ${this.schedulers.length} scheduler states`, "E_STATE");
    }
    saved.forEach((s, i) => this.schedulers[i].loadStateDict(s as SchedulerStateDict));
  }
}

export interface OneCycleLROptions {
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent increasing the lr. */
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  /** Cycle the momentum (SGD's momentum, Adam's beta1) inversely to the lr. */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor. */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor. */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, down to minLr) instead of two (up, down to minLr). */
  threePhase?: boolean;
  lastEpoch?: number;
}

const ONE_CYCLE_OPTIONS = ["totalSteps", "epochs", "stepsPerEpoch", "pctStart", "annealStrategy", "cycleMomentum",
  "baseMomentum", "maxMomentum", "divFactor", "finalDivFactor", "threePhase", "lastEpoch"] as const;

type Phase = { endStep: number; startLr: string; endLr: string; startMomentum: string; endMomentum: string };

/**
 * The 1cycle policy (Smith & Topin): the lr rises from maxLr/divFactor to maxLr over
 * pctStart of the steps, then anneals to minLr; momentum cycles the other way. Step it
 * once per batch; stepping past totalSteps throws.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  phases: Phase[];
  annealStrategy: "cos" | "linear";
  cycleMomentum: boolean;
  useBeta1: boolean;

  constructor(optimizer: Optimizer, maxLr: number | number[], ...args: PyArgs<"optim.lrScheduler.OneCycleLR", OneCycleLROptions>) {
    const options = pytorchOptions<OneCycleLROptions>("optim.lrScheduler.OneCycleLR", args, ONE_CYCLE_OPTIONS, "new OneCycleLR()");
    checkOptimizer(optimizer, "OneCycleLR");
    const {
      totalSteps, epochs, stepsPerEpoch, pctStart = 0.3, annealStrategy = "cos", cycleMomentum = true,
      baseMomentum = 0.85, maxMomentum = 0.95, divFactor = 25, finalDivFactor = 1e4, threePhase = false, lastEpoch = -1,
    } = options;
    let steps: number;
    if (totalSteps === undefined && epochs === undefined && stepsPerEpoch === undefined) {
      throw new FlareError("OneCycleLR: you must define either totalSteps OR (epochs AND stepsPerEpoch)", "E_ARGUMENT");
    } else if (totalSteps !== undefined) {
      if (!isPositiveInteger(totalSteps)) throw new FlareError(`OneCycleLR: expected a positive integer totalSteps, but got ${totalSteps}`, "E_ARGUMENT");
      steps = totalSteps;
    } else {
      if (!isPositiveInteger(epochs)) throw new FlareError(`OneCycleLR: expected a positive integer epochs, but got ${epochs}`, "E_ARGUMENT");
      if (!isPositiveInteger(stepsPerEpoch)) throw new FlareError(`OneCycleLR: expected a positive integer stepsPerEpoch, but got ${stepsPerEpoch}`, "E_ARGUMENT");
      steps = epochs * stepsPerEpoch;
    }
    if (!(typeof pctStart === "number" && pctStart >= 0 && pctStart <= 1)) {
      throw new FlareError(`OneCycleLR: expected pctStart between 0 and 1, but got ${pctStart}`, "E_ARGUMENT");
    }
    if (annealStrategy !== "cos" && annealStrategy !== "linear") {
      throw new FlareError(`OneCycleLR: annealStrategy must be "cos" or "linear", got ${String(annealStrategy)}`, "E_ARGUMENT");
    }
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, value: number | number[]): number[] => {
      if (Array.isArray(value)) {
        if (value.length !== groups.length) throw new FlareError(`OneCycleLR: expected ${groups.length} values for ${name}, got ${value.length}`, "E_ARGUMENT");
        return [...value];
      }
      return new Array(groups.length).fill(value);
    };
    const maxLrs = perGroup("maxLr", maxLr);
    if (lastEpoch === -1) {
      groups.forEach((group, i) => {
        group.initialLr = maxLrs[i] / divFactor;
        group.maxLr = maxLrs[i];
        group.minLr = (group.initialLr as number) / finalDivFactor;
      });
    }
    const useBeta1 = "betas" in optimizer.defaults;
    if (cycleMomentum) {
      if (!("momentum" in optimizer.defaults) && !useBeta1) {
        throw new FlareError("OneCycleLR: the optimizer must support momentum (momentum or betas) with the cycleMomentum option", "E_ARGUMENT");
      }
      const maxMomentums = perGroup("maxMomentum", maxMomentum), baseMomentums = perGroup("baseMomentum", baseMomentum);
      if (lastEpoch === -1) {
        groups.forEach((group, i) => {
          if (useBeta1) group.betas = [maxMomentums[i], ...(group.betas as number[]).slice(1)];
          else group.momentum = maxMomentums[i];
          group.maxMomentum = maxMomentums[i];
          group.baseMomentum = baseMomentums[i];
        });
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = steps;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.phases = threePhase
      ? [
        { endStep: pctStart * steps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: 2 * pctStart * steps - 2, startLr: "maxLr", endLr: "initialLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
        { endStep: steps - 1, startLr: "initialLr", endLr: "minLr", startMomentum: "maxMomentum", endMomentum: "maxMomentum" },
      ]
      : [
        { endStep: pctStart * steps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: steps - 1, startLr: "maxLr", endLr: "minLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
      ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + (start - end) / 2.0 * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new FlareError(`OneCycleLR: tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`, "E_STATE");
    }
    return this.groups.map((group) => {
      let startStep = 0, lr = 0, momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        const endStep = phase.endStep;
        if (stepNum <= endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (endStep - startStep);
          lr = this.anneal(group[phase.startLr] as number, group[phase.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(group[phase.startMomentum] as number, group[phase.endMomentum] as number, pct);
          break;
        }
        startStep = phase.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
        else group.momentum = momentum;
      }
      return lr;
    });
  }
}
