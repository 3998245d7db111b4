// The step protocol: what the Trainer asks of a task. A task turns one batch
// (of any structure) into a loss for training and into predictions for the
// metrics; the Trainer owns everything else (backward, accumulation, clipping,
// the optimizer and scheduler, metrics, progress, the run folder).
import { FlareError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import type { Module } from "../nn/index.js";

export interface StepInfo {
  /** The epoch (0-based) and the batch's index within it. */
  epoch: number;
  index: number;
}

export interface StepResult<P = unknown, T = unknown> {
  /**
   * A scalar loss, or a dict of named scalar losses (torchvision's detection
   * models return one) that the Trainer sums; each part is also reported under
   * its own name (`train_loss_box_reg` for `loss_box_reg`). Required in
   * training, optional in evaluation.
   */
  loss?: Tensor | Record<string, Tensor>;
  /** Examples in the batch: the weight of its values in the epoch means. Default: the first tensor's length. */
  size?: number;
  /** What the metrics' update(preds, target) receive (logits and labels, detections and targets, ...). */
  preds?: P;
  target?: T;
  /** More scalars to average over the epoch by size (reported with the train_ / val_ prefix). */
  logs?: Record<string, number | Tensor>;
}

export interface Step<B = unknown> {
  /** Forward and loss on a training batch (in train mode, inside a tidy scope; the Trainer calls backward). */
  trainStep(model: Module, batch: B, info: StepInfo): StepResult;
  /** Forward on an evaluation batch (in eval mode, without gradients, inside a tidy scope); trainStep if absent. */
  evalStep?(model: Module, batch: B, info: StepInfo): StepResult;
}

/**
 * A supervised step for [input, target] or { input, target } batches:
 * loss(model(input), target), with the output and target passed to the metrics.
 */
export function supervisedStep(loss: (output: Tensor, target: Tensor) => Tensor): Step {
  if (typeof loss !== "function") throw new FlareError("supervisedStep(): loss must be a function (output, target) => Tensor", "E_ARGUMENT");
  const run = (model: Module, batch: unknown): StepResult => {
    const [input, target] = inputAndTarget(batch);
    const output = model.forward(input) as Tensor;
    return { loss: loss(output, target), preds: output, target, size: input.shape[0] };
  };
  return { trainStep: run, evalStep: run };
}

function inputAndTarget(batch: unknown): [Tensor, Tensor] {
  if (Array.isArray(batch) && batch.length === 2 && batch[0] instanceof Tensor && batch[1] instanceof Tensor) return [batch[0], batch[1]];
  if (batch && typeof batch === "object" && (batch as { input?: unknown }).input instanceof Tensor && (batch as { target?: unknown }).target instanceof Tensor)
    return [(batch as { input: Tensor }).input, (batch as { target: Tensor }).target];
  throw new FlareError(`supervisedStep: a batch must be [input, target] or { input, target } tensors, got ${describeBatch(batch)}`, "E_ARGUMENT");
}

export function describeBatch(batch: unknown): string {
  if (batch instanceof Tensor) return `a tensor of shape [${batch.shape.join(", ")}]`;
  if (Array.isArray(batch)) return `an array of ${batch.length}`;
  if (batch && typeof batch === "object") return `an object with keys ${Object.keys(batch).join(", ") || "(none)"}`;
  return String(batch);
}

/** Validates a step's result and reduces a dict of losses to their sum (made inside the caller's tidy scope). */
export function totalLoss(loss: StepResult["loss"], where: string): { total: Tensor; parts: Record<string, Tensor> } {
  if (loss instanceof Tensor) return { total: checkScalar(loss, `${where}: the loss`), parts: {} };
  if (loss && typeof loss === "object" && !Array.isArray(loss)) {
    const entries = Object.entries(loss);
    if (entries.length === 0) throw new FlareError(`${where}: the loss dict is empty`, "E_ARGUMENT");
    const parts: Record<string, Tensor> = {};
    for (const [name, value] of entries) {
      if (!(value instanceof Tensor)) throw new FlareError(`${where}: loss '${name}' must be a tensor, got ${describeBatch(value)}`, "E_TYPE");
      parts[name] = checkScalar(value, `${where}: loss '${name}'`);
    }
    const total = Object.values(parts).reduce((sum, part) => sum.add(part));
    return { total, parts };
  }
  throw new FlareError(`${where}: must return { loss } with a scalar tensor or a dict of them, got ${describeBatch(loss)}`, "E_TYPE");
}

function checkScalar(t: Tensor, what: string): Tensor {
  if (t.numel() !== 1) throw new FlareError(`${what} must be a scalar, got shape [${t.shape.join(", ")}]`, "E_SHAPE");
  return t;
}

/** The batch's size when the step does not say: the length of its first tensor, else 1. */
export function sizeOf(result: StepResult, batch: unknown, where: string): number {
  if (result.size !== undefined) {
    if (!(Number.isInteger(result.size) && result.size >= 0)) throw new FlareError(`${where}: size must be a non-negative integer, got ${result.size}`, "E_ARGUMENT");
    return result.size;
  }
  return lengthOf(batch) ?? 1;
}

// [x, y] and { images, ... } batches: the first tensor's length; [images[], targets[]]: the list's length.
function lengthOf(value: unknown, depth = 0): number | undefined {
  if (value instanceof Tensor) return value.dim() > 0 ? value.shape[0] : undefined;
  if (depth === 1 && Array.isArray(value)) return value.length;
  if (depth > 0 || value === null || typeof value !== "object") return undefined;
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    const n = lengthOf(v, depth + 1);
    if (n !== undefined) return n;
  }
  return undefined;
}
