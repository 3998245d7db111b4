// The training loop (d2l's train_ch13 grown up): epochs, gradient clipping and
// accumulation, lr scheduling per step or epoch, metrics, evaluation, a run
// folder with atomic checkpoints, exact resume, early stopping, callbacks.
import { FlareError } from "../errors.js";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { crossEntropy } from "../nn/functional.js";
import { clipGradNorm_ } from "../nn/clip.js";
import type { Module } from "../nn/index.js";
import type { Optimizer } from "../optim/index.js";
import type { LRScheduler } from "../optim/lr_scheduler.js";
import { saveCheckpoint, loadCheckpoint } from "./checkpoint.js";
import { Averages, correctTopK } from "./metrics.js";
import { makeProgress, type OutputMode, type Progress } from "./progress.js";
import { RunFolder } from "./run.js";
import { save } from "../io/index.js";

export type Batch = [Tensor, Tensor] | { input: Tensor; target: Tensor };
type Batches = Iterable<Batch> | AsyncIterable<Batch>;
/** Batches for one pass; a function of the epoch (or a loader with setEpoch) makes the order reproducible. */
export type DataSource = Batches | ((epoch: number) => Batches) | (Batches & { setEpoch(epoch: number): void });

export type EpochMetrics = Record<string, number> & { epoch: number };

export interface Callbacks {
  onStepEnd?(info: { epoch: number; step: number; loss: number }, trainer: Trainer): void;
  /** Return true to stop training after this epoch. */
  onEpochEnd?(metrics: EpochMetrics, trainer: Trainer): boolean | void;
}

export interface TrainerOptions {
  model: Module;
  optimizer: Optimizer;
  epochs: number;
  /** loss(output, target); cross-entropy by default. */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  /** Top-k accuracies reported for classification (default [1, 5]; [] for none). */
  topK?: number[];
  scheduler?: LRScheduler;
  schedulerInterval?: "step" | "epoch";
  /** Clip the gradients' total 2-norm to this value before each optimizer step. */
  gradClip?: number;
  /** Optimizer step every `accumulate` batches (gradients summed, loss scaled by 1/accumulate). */
  accumulate?: number;
  /** A run folder (config.json, metrics.jsonl, checkpoints/, curves.svg); none if unset. */
  runDir?: string;
  config?: Record<string, unknown>;
  output?: OutputMode;
  /** The metric that picks the best checkpoint and drives early stopping. */
  monitor?: string;
  monitorMode?: "min" | "max";
  earlyStopping?: { patience: number; minDelta?: number };
  callbacks?: Callbacks;
  /** Dispose each batch's tensors after its step (default true: loaders make new tensors per batch). */
  disposeBatches?: boolean;
}

function unpack(batch: Batch): [Tensor, Tensor] {
  if (Array.isArray(batch)) return batch;
  if (batch && typeof batch === "object" && "input" in batch) return [batch.input, batch.target];
  throw new FlareError("Trainer: a batch must be [input, target] or { input, target }", "E_ARGUMENT");
}

function batchesFor(source: DataSource, epoch: number): Batches {
  if (typeof source === "function") return source(epoch);
  if (typeof (source as { setEpoch?: unknown }).setEpoch === "function") (source as { setEpoch(e: number): void }).setEpoch(epoch);
  return source as Batches;
}

export class Trainer {
  readonly options: TrainerOptions;
  readonly run: RunFolder | null;
  private readonly progress: Progress;
  epoch = 0;
  globalStep = 0;

  constructor(options: TrainerOptions) {
    if (!Number.isInteger(options.epochs) || options.epochs < 1) throw new FlareError(`Trainer: epochs must be a positive integer, got ${options.epochs}`, "E_ARGUMENT");
    if (options.accumulate !== undefined && (!Number.isInteger(options.accumulate) || options.accumulate < 1))
      throw new FlareError(`Trainer: accumulate must be a positive integer, got ${options.accumulate}`, "E_ARGUMENT");
    this.options = options;
    this.run = options.runDir ? new RunFolder(options.runDir) : null;
    this.progress = makeProgress(options.output ?? "auto");
  }

  private lossOf(output: Tensor, target: Tensor): Tensor {
    return (this.options.loss ?? ((o, t) => crossEntropy(o, t)))(output, target);
  }

  /** Trains for the configured epochs; with `resume`, continues from the run folder's last checkpoint. */
  async fit(train: DataSource, val?: DataSource, { resume = false } = {}): Promise<EpochMetrics[]> {
    const { model, optimizer, scheduler, epochs } = this.options;
    const parts = { model, optimizer, scheduler };
    let start = 0;
    if (resume) {
      if (!this.run || !this.run.hasCheckpoint()) throw new FlareError(`Trainer: nothing to resume in ${this.options.runDir ?? "(no runDir)"}`, "E_STATE");
      const saved = loadCheckpoint(this.run.lastCheckpoint, parts);
      start = saved.epoch + 1;
      this.globalStep = saved.globalStep;
      this.run.truncateMetrics(saved.epoch);
      this.progress.message(`resumed from ${this.run.lastCheckpoint} after epoch ${saved.epoch + 1}`);
    } else if (this.run) {
      // A new run in an existing folder starts its own history.
      this.run.writeConfig({ epochs, ...this.options.config });
      this.run.truncateMetrics(-1);
    }
    const history: EpochMetrics[] = this.run ? (this.run.readMetrics() as EpochMetrics[]) : [];
    const monitor = this.options.monitor ?? (val ? "val_loss" : "train_loss");
    const better = (a: number, b: number) => ((this.options.monitorMode ?? (monitor.includes("acc") ? "max" : "min")) === "min" ? a < b : a > b);
    let best = history.reduce((b, row) => (Number.isFinite(row[monitor]) && (b === undefined || better(row[monitor], b)) ? row[monitor] : b), undefined as number | undefined);
    let sinceBest = 0;

    for (this.epoch = start; this.epoch < epochs; this.epoch++) {
      const metrics: EpochMetrics = { epoch: this.epoch, ...(await this.trainEpoch(batchesFor(train, this.epoch))) };
      if (val) Object.assign(metrics, Object.fromEntries(Object.entries(await this.evaluate(batchesFor(val, this.epoch))).map(([k, v]) => [`val_${k}`, v])));
      if (scheduler && (this.options.schedulerInterval ?? "epoch") === "epoch") scheduler.step();
      metrics.lr = optimizer.paramGroups[0].lr;
      history.push(metrics);
      const { epoch: _, ...shown } = metrics;
      this.progress.epoch(this.epoch, shown);
      const value = metrics[monitor];
      const improved = Number.isFinite(value) && (best === undefined || better(value, best) &&
        Math.abs(value - best) > (this.options.earlyStopping?.minDelta ?? 0));
      if (this.run) {
        this.run.appendMetrics(metrics);
        saveCheckpoint(this.run.lastCheckpoint, parts, { epoch: this.epoch, globalStep: this.globalStep });
        if (improved) {
          saveCheckpoint(this.run.bestCheckpoint, parts, { epoch: this.epoch, globalStep: this.globalStep, extra: { [monitor]: value } });
          torch.tidy(() => save(model.stateDict(), this.run!.bestModel, { epoch: String(this.epoch), [monitor]: String(value) }));
        }
        this.run.writePlot();
      }
      if (improved) { best = value; sinceBest = 0; } else sinceBest++;
      const stopByCallback = this.options.callbacks?.onEpochEnd?.(metrics, this) === true;
      const patience = this.options.earlyStopping?.patience;
      if (stopByCallback || (patience !== undefined && sinceBest > patience)) {
        this.progress.message(`stopping after epoch ${this.epoch + 1}: ${stopByCallback ? "a callback asked" : `${monitor} did not improve for ${sinceBest} epochs`}`);
        this.epoch++;
        break;
      }
    }
    return history;
  }

  private async trainEpoch(batches: Batches): Promise<Record<string, number>> {
    const { model, optimizer, scheduler } = this.options;
    const accumulate = this.options.accumulate ?? 1;
    const topK = this.options.topK ?? [1, 5];
    const averages = new Averages();
    model.train();
    const started = performance.now();
    let batchIndex = 0, pending = 0, examples = 0;
    optimizer.zeroGrad();
    const stepOptimizer = () => {
      if (this.options.gradClip !== undefined) clipGradNorm_(model.parameters(), this.options.gradClip);
      optimizer.step();
      optimizer.zeroGrad();
      if (scheduler && this.options.schedulerInterval === "step") scheduler.step();
      this.globalStep++;
      pending = 0;
    };
    for await (const batch of batches) {
      const [input, target] = unpack(batch);
      const n = input.shape[0];
      const { loss, correct } = torch.tidy(() => {
        const output = model.forward(input);
        const lossTensor = this.lossOf(output, target);
        const value = lossTensor.item();
        if (!Number.isFinite(value)) {
          throw new FlareError(`Trainer: the loss became ${value} at epoch ${this.epoch + 1}, batch ${batchIndex + 1}; ` +
            (this.run ? `the last good checkpoint is ${this.run.lastCheckpoint}` : "no checkpoint was kept (no runDir)"), "E_STATE");
        }
        (accumulate > 1 ? lossTensor.div(accumulate) : lossTensor).backward();
        const correct = topK.length && output.dim() === 2 && target.dim() === 1 ? correctTopK(output, target, topK) : [];
        return { loss: value, correct };
      });
      if (this.options.disposeBatches ?? true) { input.dispose(); target.dispose(); }
      averages.add("loss", loss * n, n);
      topK.forEach((k, i) => { if (correct[i] !== undefined) averages.add(`acc${k === 1 ? "" : `_top${k}`}`, correct[i], n); });
      examples += n;
      batchIndex++;
      if (++pending === accumulate) stepOptimizer();
      this.options.callbacks?.onStepEnd?.({ epoch: this.epoch, step: this.globalStep, loss }, this);
      this.progress.step(this.epoch, batchIndex, undefined, { loss: averages.mean("loss") });
    }
    if (pending > 0) stepOptimizer();
    const seconds = (performance.now() - started) / 1000;
    return { ...Object.fromEntries(Object.entries(averages.means()).map(([k, v]) => [`train_${k}`, v])), examples_per_s: examples / seconds };
  }

  /** Mean loss and top-k accuracy over a dataset, in eval mode without gradients. */
  async evaluate(data: DataSource): Promise<Record<string, number>> {
    const { model } = this.options;
    const topK = this.options.topK ?? [1, 5];
    const averages = new Averages();
    const wasTraining = model.training;
    model.eval();
    try {
      for await (const batch of batchesFor(data, this.epoch)) {
        const [input, target] = unpack(batch);
        const n = input.shape[0];
        const { loss, correct } = torch.tidy(() => torch.noGrad(() => {
          const output = model.forward(input);
          const correct = topK.length && output.dim() === 2 && target.dim() === 1 ? correctTopK(output, target, topK) : [];
          return { loss: this.lossOf(output, target).item(), correct };
        }));
        if (this.options.disposeBatches ?? true) { input.dispose(); target.dispose(); }
        averages.add("loss", loss * n, n);
        topK.forEach((k, i) => { if (correct[i] !== undefined) averages.add(`acc${k === 1 ? "" : `_top${k}`}`, correct[i], n); });
      }
    } finally {
      model.train(wasTraining);
    }
    return averages.means();
  }
}
