// The training loop (d2l's train_ch13 grown up), for any task: the task's Step
// turns a batch into a loss and predictions; the Trainer does the rest —
// epochs, gradient accumulation and clipping, lr scheduling per step or epoch,
// metrics with epoch-level reduction, evaluation, a run folder written by rank 0
// only (atomic checkpoints, per-epoch and per-step logs, a TensorBoard event
// file), exact resume, early stopping, callbacks and hooks.
import { FlareError } from "../errors.js";
import { checkOptions } from "../options.js";
import * as torch from "../tensor/index.js";
import { Tensor } from "../tensor/index.js";
import { clipGradNorm_ } from "../nn/clip.js";
import type { Module } from "../nn/index.js";
import type { Optimizer } from "../optim/index.js";
import type { LRScheduler } from "../optim/lr_scheduler.js";
import { save } from "../io/index.js";
import { saveCheckpoint, loadCheckpoint } from "./checkpoint.js";
import { Averages, type Metric } from "./metrics.js";
import { makeProgress, type OutputMode, type Progress, type ProgressStream } from "./progress.js";
import { RunFolder } from "./run.js";
import { SummaryWriter, truncateEventFiles, runTag } from "./tensorboard.js";
import { type Step, type StepResult, type StepInfo, totalLoss, sizeOf } from "./step.js";
import { DistributedDataParallel, type DistributedDataParallelOptions } from "../nn/parallel/distributed_data_parallel.js";
import { initProcessGroup, isInitialized, getRank, getWorldSize, destroyProcessGroup } from "../distributed/process_group.js";
import { barrier } from "../distributed/collectives.js";
import { shardBatch, batchRows } from "./shard.js";
import { DistributedSampler } from "../data/sampler.js";

type Batches<B = unknown> = Iterable<B> | AsyncIterable<B>;
/**
 * Batches for one pass: an iterable (arrays and DataLoaders tell their length to
 * the progress bar), a function of the epoch, or a loader with setEpoch; the
 * last two make the order reproducible on resume.
 */
export type DataSource<B = unknown> = Batches<B> | ((epoch: number) => Batches<B>) | (Batches<B> & { setEpoch(epoch: number): void });

export type EpochMetrics = Record<string, number> & { epoch: number };

export interface Callbacks {
  /** After each batch's step (`step` is the number of optimizer steps so far). */
  onStepEnd?(info: { epoch: number; index: number; step: number; loss: number }, trainer: Trainer): void;
  /** Return true to stop training after this epoch. */
  onEpochEnd?(metrics: EpochMetrics, trainer: Trainer): boolean | void;
  /**
   * After each backward pass (each micro-batch), with the gradients in place.
   * `willStep`: the optimizer steps after this batch (exact when the data has a
   * length; otherwise the last partial accumulation of an epoch is only seen by
   * beforeOptimizerStep). Data-parallel training reduces gradients here.
   */
  afterBackward?(info: StepInfo & { willStep: boolean }, trainer: Trainer): void;
  /** Just before gradient clipping and optimizer.step(). */
  beforeOptimizerStep?(info: { epoch: number; step: number }, trainer: Trainer): void;
}

export interface TrainerOptions<B = unknown> {
  model: Module;
  optimizer: Optimizer;
  epochs: number;
  /** What a batch means: its loss in training, its predictions in evaluation (see step.ts). */
  step: Step<B>;
  /** Metrics fed with each step's { preds, target }, reduced per epoch (train_ and val_ prefixes). */
  metrics?: Metric[];
  scheduler?: LRScheduler;
  schedulerInterval?: "step" | "epoch";
  /** Clip the gradients' total 2-norm to this value before each optimizer step. */
  gradClip?: number;
  /** Optimizer step every `accumulate` batches (gradients summed, loss scaled by 1/accumulate). */
  accumulate?: number;
  /** A run folder (config.json, metrics.jsonl, steps.jsonl, checkpoints/, curves.svg); none if unset. */
  runDir?: string;
  /** Also write the run folder's logs as a TensorBoard event file (default true; needs runDir). */
  tensorboard?: boolean;
  config?: Record<string, unknown>;
  output?: OutputMode;
  /** Where progress goes (default process.stdout). */
  progressStream?: ProgressStream;
  /** The metric that picks the best checkpoint and drives early stopping (default val_loss, else train_loss). */
  monitor?: string;
  /** Default: "max" for a metric with higherIsBetter, else "min". */
  monitorMode?: "min" | "max";
  earlyStopping?: { patience: number; minDelta?: number };
  callbacks?: Callbacks;
  /** Dispose every tensor of each batch after its step (default true: loaders make new tensors per batch). */
  disposeBatches?: boolean;
  /**
   * This process's rank in a distributed run (default: env RANK, else 0). Only
   * rank 0 writes the run folder and prints progress; every rank may resume from it.
   */
  rank?: number;
  /**
   * Data-parallel training over processes (DistributedDataParallel). Default:
   * on when WORLD_SIZE > 1 (flare launch, torchrun), joining the group from the
   * environment if not joined yet. Each rank trains on its share of every
   * batch (rows split evenly along dim 0), so a run over N processes takes the
   * same optimizer steps as one process with the whole batch; a DataLoader over
   * a DistributedSampler already gives each rank its own batches (the sampler
   * is reseeded each epoch with setEpoch).
   */
  distributed?: boolean | Omit<DistributedDataParallelOptions, "processGroup">;
}

const OPTION_KEYS = ["model", "optimizer", "epochs", "step", "metrics", "scheduler", "schedulerInterval", "gradClip", "accumulate",
  "runDir", "config", "output", "progressStream", "monitor", "monitorMode", "earlyStopping", "callbacks", "disposeBatches", "rank", "distributed", "tensorboard"];
const OUTPUT_MODES = ["auto", "tty", "plain", "json", "silent"];
const CALLBACKS = ["onStepEnd", "onEpochEnd", "afterBackward", "beforeOptimizerStep"];

/** A DataLoader's DistributedSampler: its batches are already this rank's. */
function distributedSampler(source: unknown): DistributedSampler | undefined {
  const sampler = (source as { sampler?: unknown } | null)?.sampler;
  return sampler instanceof DistributedSampler ? sampler : undefined;
}

function batchesFor<B>(source: DataSource<B>, epoch: number): Batches<B> {
  if (typeof source === "function") return source(epoch);
  // Reseeded by epoch, so each epoch has its own partition (PyTorch's set_epoch).
  distributedSampler(source)?.setEpoch(epoch);
  if (typeof (source as { setEpoch?: unknown }).setEpoch === "function") (source as { setEpoch(e: number): void }).setEpoch(epoch);
  return source as Batches<B>;
}

function lengthOf(batches: unknown): number | undefined {
  const n = (batches as { length?: unknown }).length;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The rank from the environment (torchrun's RANK), 0 when unset. */
export function envRank(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.RANK;
  if (text === undefined || text === "") return 0;
  const rank = Number(text);
  if (!Number.isInteger(rank) || rank < 0) throw new FlareError(`Trainer: the environment variable RANK must be a non-negative integer, got '${text}'`, "E_ARGUMENT");
  return rank;
}

function validate(options: TrainerOptions): void {
  if (!options || typeof options !== "object") throw new FlareError("Trainer(): needs an options object { model, optimizer, epochs, step, ... }", "E_ARGUMENT");
  checkOptions(options, OPTION_KEYS, "Trainer()");
  const fail = (message: string) => { throw new FlareError(`Trainer(): ${message}`, "E_ARGUMENT"); };
  if (!options.model || typeof options.model.forward !== "function") fail("model must be an nn.Module");
  if (!options.optimizer || typeof options.optimizer.step !== "function") fail("optimizer must be an optimizer (optim.SGD, ...)");
  if (!Number.isInteger(options.epochs) || options.epochs < 1) fail(`epochs must be a positive integer, got ${options.epochs}`);
  if (!options.step || typeof options.step.trainStep !== "function") fail("step must be an object with trainStep(model, batch, info) (and optionally evalStep)");
  if (options.step.evalStep !== undefined && typeof options.step.evalStep !== "function") fail("step.evalStep must be a function");
  if (options.metrics !== undefined && (!Array.isArray(options.metrics) || options.metrics.some((m) => !m || ["update", "compute", "reset"].some((f) => typeof (m as unknown as Record<string, unknown>)[f] !== "function"))))
    fail("metrics must be an array of objects with update(preds, target), compute() and reset()");
  if (options.accumulate !== undefined && (!Number.isInteger(options.accumulate) || options.accumulate < 1)) fail(`accumulate must be a positive integer, got ${options.accumulate}`);
  if (options.gradClip !== undefined && !(typeof options.gradClip === "number" && options.gradClip > 0)) fail(`gradClip must be a positive number, got ${options.gradClip}`);
  if (options.schedulerInterval !== undefined && !["step", "epoch"].includes(options.schedulerInterval)) fail(`schedulerInterval must be "step" or "epoch", got ${JSON.stringify(options.schedulerInterval)}`);
  if (options.monitorMode !== undefined && !["min", "max"].includes(options.monitorMode)) fail(`monitorMode must be "min" or "max", got ${JSON.stringify(options.monitorMode)}`);
  if (options.output !== undefined && !OUTPUT_MODES.includes(options.output)) fail(`output must be one of ${OUTPUT_MODES.join(", ")}, got ${JSON.stringify(options.output)}`);
  if (options.earlyStopping !== undefined) {
    const { patience, minDelta } = checkOptions(options.earlyStopping, ["patience", "minDelta"], "Trainer(): earlyStopping");
    if (!Number.isInteger(patience) || patience < 0) fail(`earlyStopping.patience must be a non-negative integer, got ${patience}`);
    if (minDelta !== undefined && !(minDelta >= 0)) fail(`earlyStopping.minDelta must be a non-negative number, got ${minDelta}`);
  }
  if (options.tensorboard !== undefined && typeof options.tensorboard !== "boolean") fail(`tensorboard must be true or false, got ${JSON.stringify(options.tensorboard)}`);
  if (options.rank !== undefined && (!Number.isInteger(options.rank) || options.rank < 0)) fail(`rank must be a non-negative integer, got ${options.rank}`);
  if (options.callbacks !== undefined) {
    for (const [name, fn] of Object.entries(checkOptions(options.callbacks, CALLBACKS, "Trainer(): callbacks")))
      if (typeof fn !== "function") fail(`callbacks.${name} must be a function`);
  }
}

/** Loss parts and logs as plain numbers (inside the step's tidy scope). */
function scalars(result: StepResult, parts: Record<string, Tensor>, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(parts)) {
    if (name === "loss") throw new FlareError(`${where}: a loss part may not be called 'loss' (that is their sum)`, "E_ARGUMENT");
    out[name] = t.item();
  }
  for (const [name, value] of Object.entries(result.logs ?? {})) {
    const v = value instanceof Tensor ? value.item() : value;
    if (typeof v !== "number") throw new FlareError(`${where}: logs.${name} must be a number or a scalar tensor`, "E_TYPE");
    out[name] = v;
  }
  return out;
}

export class Trainer<B = unknown> {
  readonly options: TrainerOptions<B>;
  readonly run: RunFolder | null;
  rank: number;
  private progress: Progress;
  /** The data-parallel wrapper the training steps run through (world size > 1). */
  ddp: DistributedDataParallel | null = null;
  private ownsGroup = false;
  /** The run's TensorBoard event file (rank 0, during fit). */
  private tensorboard: SummaryWriter | null = null;
  /** Which metric produced each reported name (for the monitor's default mode). */
  private readonly higherIsBetter = new Map<string, boolean>();
  epoch = 0;
  globalStep = 0;

  constructor(options: TrainerOptions<B>) {
    validate(options as TrainerOptions);
    this.options = options;
    this.rank = options.rank ?? (isInitialized() ? getRank() : envRank());
    this.run = options.runDir ? new RunFolder(options.runDir, { readOnly: !this.isMainProcess }) : null;
    this.progress = makeProgress(this.isMainProcess ? options.output ?? "auto" : "silent", options.progressStream);
  }

  /** Rank 0: the process that writes the run folder and prints. */
  get isMainProcess(): boolean { return this.rank === 0; }

  /** Joins the process group (from the environment) and wraps the model, when distributed. */
  private startDistributed(): void {
    const setting = this.options.distributed;
    const envWorld = Number(process.env.WORLD_SIZE ?? "1");
    if (setting === false || (setting === undefined && !(envWorld > 1) && !isInitialized())) return;
    if (!isInitialized()) {
      initProcessGroup();
      this.ownsGroup = true;
    }
    if (this.rank !== getRank()) {
      this.rank = getRank();
      this.progress = makeProgress(this.isMainProcess ? this.options.output ?? "auto" : "silent", this.options.progressStream);
    }
    if (getWorldSize() > 1) this.ddp = new DistributedDataParallel(this.options.model, typeof setting === "object" ? setting : {});
  }

  private stopDistributed(): void {
    this.ddp?.dispose();
    this.ddp = null;
    if (this.ownsGroup && isInitialized()) {
      barrier();
      destroyProcessGroup();
    }
    this.ownsGroup = false;
  }

  /** Trains for the configured epochs; with `resume`, continues from the run folder's last checkpoint. */
  async fit(train: DataSource<B>, val?: DataSource<B>, { resume = false } = {}): Promise<EpochMetrics[]> {
    let failed = true;
    try {
      const history = await this.fitLoop(train, val, resume);
      failed = false;
      return history;
    } finally {
      // After a failure the peers may be gone: no barrier, just drop the hooks.
      if (failed) { this.ddp?.dispose(); this.ddp = null; } else this.stopDistributed();
      const tensorboard = this.tensorboard;
      this.tensorboard = null;
      // A close that fails after training failed must not hide the first error.
      if (failed) { try { tensorboard?.close(); } catch { /* the training error is the one to report */ } } else tensorboard?.close();
    }
  }

  private async fitLoop(train: DataSource<B>, val: DataSource<B> | undefined, resume: boolean): Promise<EpochMetrics[]> {
    const { model, optimizer, scheduler, epochs } = this.options;
    const parts = { model, optimizer, scheduler };
    const run = this.run;
    let start = 0;
    let history: EpochMetrics[] = [];
    if (resume) {
      if (!run || !run.hasCheckpoint()) throw new FlareError(`Trainer: nothing to resume in ${this.options.runDir ?? "(no runDir)"}`, "E_STATE");
      const saved = loadCheckpoint(run.lastCheckpoint, parts);
      start = saved.epoch + 1;
      this.globalStep = saved.globalStep;
      history = run.readMetrics().filter((row) => row.epoch <= saved.epoch) as EpochMetrics[];
      if (this.isMainProcess) { run.truncateMetrics(saved.epoch); run.truncateSteps(saved.globalStep); }
      this.progress.message(`resumed from ${run.lastCheckpoint} after epoch ${saved.epoch + 1}`);
    }
    // After loading a checkpoint, so every rank starts from the same state.
    this.startDistributed();
    const main = this.isMainProcess;
    if (!resume && run && main) {
      // A new run in an existing folder starts its own history.
      run.writeConfig({ epochs, ...this.options.config });
      run.truncateMetrics(-1);
      run.truncateSteps(-1);
    }
    if (run && main) {
      // Like the logs: a resumed run cuts the event files back to its checkpoint and
      // continues in a new file that starts at the next step; a new run starts afresh
      // (also with tensorboard off, so no other run's curves stay in its folder).
      truncateEventFiles(run.dir, resume ? this.globalStep : -1);
      if (this.options.tensorboard !== false) this.tensorboard = new SummaryWriter(run.dir, resume ? { purgeStep: this.globalStep + 1 } : {});
    }
    let monitor = this.options.monitor;
    let better: ((a: number, b: number) => boolean) | undefined;
    let best: number | undefined;
    let sinceBest = 0;

    for (this.epoch = start; this.epoch < epochs; this.epoch++) {
      const metrics: EpochMetrics = { epoch: this.epoch, ...(await this.trainEpoch(batchesFor(train, this.epoch), distributedSampler(train) !== undefined)) };
      if (val) {
        for (const [k, v] of Object.entries(await this.evaluate(batchesFor(val, this.epoch)))) metrics[`val_${k}`] = v;
      }
      if (scheduler && (this.options.schedulerInterval ?? "epoch") === "epoch") scheduler.step();
      metrics.lr = optimizer.paramGroups[0].lr;
      if (better === undefined) {
        // Known after the first epoch: which names exist and which metric made them.
        monitor ??= "val_loss" in metrics ? "val_loss" : "train_loss";
        if (!(monitor in metrics)) throw new FlareError(`Trainer: monitor '${monitor}' is not among the epoch's values (${Object.keys(metrics).filter((k) => k !== "epoch").join(", ")})`, "E_ARGUMENT");
        const mode = this.options.monitorMode ?? (this.higherIsBetter.get(monitor.replace(/^(train|val)_/, "")) ? "max" : "min");
        better = mode === "min" ? (a, b) => a < b : (a, b) => a > b;
        for (const row of history) if (Number.isFinite(row[monitor]) && (best === undefined || better(row[monitor], best))) best = row[monitor];
      }
      const name = monitor as string;
      history.push(metrics);
      this.progress.epoch(this.epoch, Object.fromEntries(Object.entries(metrics).filter(([k]) => k !== "epoch")));
      const value = metrics[name];
      const improved = Number.isFinite(value) && (best === undefined || (better(value, best) &&
        Math.abs(value - best) > (this.options.earlyStopping?.minDelta ?? 0)));
      if (run && main) {
        run.appendMetrics(metrics);
        if (this.tensorboard) {
          for (const [k, v] of Object.entries(metrics)) if (k !== "epoch") this.tensorboard.addScalar(runTag(k, "epoch"), v, this.globalStep);
          this.tensorboard.flush();
        }
        saveCheckpoint(run.lastCheckpoint, parts, { epoch: this.epoch, globalStep: this.globalStep });
        if (improved) {
          saveCheckpoint(run.bestCheckpoint, parts, { epoch: this.epoch, globalStep: this.globalStep, extra: { [name]: value } });
          torch.tidy(() => save(model.stateDict(), run.bestModel, { epoch: String(this.epoch), [name]: String(value) }));
        }
        run.writePlot();
      }
      if (improved) { best = value; sinceBest = 0; } else sinceBest++;
      const stopByCallback = this.options.callbacks?.onEpochEnd?.(metrics, this) === true;
      const patience = this.options.earlyStopping?.patience;
      if (stopByCallback || (patience !== undefined && sinceBest > patience)) {
        this.progress.message(`stopping after epoch ${this.epoch + 1}: ${stopByCallback ? "a callback asked" : `${name} did not improve for ${sinceBest} epochs`}`);
        this.epoch++;
        break;
      }
    }
    return history;
  }

  /** Updates each metric with a step's predictions (without gradients, in the step's scope). */
  private updateMetrics(result: StepResult): void {
    if (result.preds === undefined || !this.options.metrics?.length) return;
    torch.noGrad(() => { for (const m of this.options.metrics!) m.update(result.preds, result.target); });
  }

  /** Computes and resets the metrics, remembering which names are better when higher. */
  private computeMetrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.options.metrics ?? []) {
      for (const [k, v] of Object.entries(m.compute())) {
        out[k] = v;
        this.higherIsBetter.set(k, m.higherIsBetter === true);
      }
      m.reset();
    }
    return out;
  }

  private disposeBatch(batch: unknown): void {
    if (this.options.disposeBatches ?? true) torch.dispose(batch);
  }

  private async trainEpoch(batches: Batches<B>, preSharded = false): Promise<Record<string, number>> {
    const { model, optimizer, scheduler, step, callbacks } = this.options;
    const accumulate = this.options.accumulate ?? 1;
    const total = lengthOf(batches);
    const averages = new Averages();
    let pendingLoss = new Averages();   // the micro-batches of the coming optimizer step
    model.train();
    for (const m of this.options.metrics ?? []) m.reset();
    this.progress.start(this.epoch, this.options.epochs, total);
    const started = performance.now();
    let index = 0, pending = 0, examples = 0;
    optimizer.zeroGrad();
    const ddp = this.ddp;
    let unsynced = false;   // a backward ran under noSync since the last synced one
    const stepOptimizer = () => {
      if (ddp && unsynced) ddp.syncGradients();
      unsynced = false;
      callbacks?.beforeOptimizerStep?.({ epoch: this.epoch, step: this.globalStep }, this);
      if (this.options.gradClip !== undefined) clipGradNorm_(model.parameters(), this.options.gradClip);
      const lr = optimizer.paramGroups[0].lr;
      optimizer.step();
      optimizer.zeroGrad();
      if (scheduler && this.options.schedulerInterval === "step") scheduler.step();
      this.globalStep++;
      pending = 0;
      if (this.run && this.isMainProcess) {
        const row = { epoch: this.epoch, step: this.globalStep, ...pendingLoss.means(), lr };
        this.run.appendStep(row);
        for (const [k, v] of Object.entries(row)) if (k !== "epoch" && k !== "step") this.tensorboard?.addScalar(runTag(k, "step"), v, this.globalStep);
      }
      pendingLoss = new Averages();
    };
    for await (const whole of batches) {
      const info: StepInfo = { epoch: this.epoch, index };
      const willStep = pending + 1 === accumulate || (total !== undefined && index + 1 === total);
      let loss: number, size: number, values: Record<string, number>;
      // Under DDP each rank trains on its rows of the batch; gradients are
      // reduced only in the backward before an optimizer step.
      const split = ddp !== null && !preSharded;
      const batch = split ? shardBatch(whole, ddp.processGroup.rank, ddp.processGroup.worldSize) as B : whole;
      const sync = !ddp || willStep;
      const wholeRows = !ddp ? 0 : split ? batchRows(whole) : batchRows(whole) * ddp.processGroup.worldSize;
      const guard = <T>(f: () => T): T => (sync ? f() : ddp!.noSync(f));
      try {
        ({ loss, size, values } = torch.tidy(() => guard(() => {
          const result = step.trainStep(ddp ?? model, batch, info);
          if (!result || typeof result !== "object") throw new FlareError(`trainStep must return { loss, size?, preds?, target?, logs? }, got ${String(result)}`, "E_TYPE");
          const { total: lossTensor, parts } = totalLoss(result.loss, "trainStep");
          const value = lossTensor.item();
          if (!Number.isFinite(value)) {
            throw new FlareError(`Trainer: the loss became ${value} at epoch ${this.epoch + 1}, batch ${index + 1}; ` +
              (this.run ? `the last good checkpoint is ${this.run.lastCheckpoint}` : "no checkpoint was kept (no runDir)"), "E_STATE");
          }
          (accumulate > 1 ? lossTensor.div(accumulate) : lossTensor).backward();
          this.updateMetrics(result);
          return { loss: value, size: sizeOf(result, batch, "trainStep"), values: scalars(result, parts, "trainStep") };
        })));
        if (!sync) unsynced = true;
      } finally {
        this.disposeBatch(whole);
        if (batch !== whole) torch.dispose(batch);
      }
      callbacks?.afterBackward?.({ ...info, willStep }, this);
      for (const [name, v] of [["loss", loss], ...Object.entries(values)] as [string, number][]) {
        averages.add(name, v * size, size);
        pendingLoss.add(name, v * size, size);
      }
      // Under DDP the throughput is the whole batch's (every rank's rows).
      examples += ddp ? wholeRows : size;
      index++;
      if (++pending === accumulate) stepOptimizer();
      callbacks?.onStepEnd?.({ epoch: this.epoch, index: index - 1, step: this.globalStep, loss }, this);
      this.progress.step(index, { loss: averages.mean("loss") });
    }
    if (pending > 0) stepOptimizer();
    const seconds = (performance.now() - started) / 1000;
    const means = { ...averages.means(), ...this.computeMetrics() };
    return { ...Object.fromEntries(Object.entries(means).map(([k, v]) => [`train_${k}`, v])), examples_per_s: examples / seconds };
  }

  /** Mean loss (when the step gives one), logs and metrics over a dataset, in eval mode without gradients. */
  async evaluate(data: DataSource<B>): Promise<Record<string, number>> {
    const { model, step } = this.options;
    const evalStep = (step.evalStep ?? step.trainStep).bind(step);
    const averages = new Averages();
    const wasTraining = model.training;
    for (const m of this.options.metrics ?? []) m.reset();
    model.eval();
    try {
      let index = 0;
      const batches = batchesFor(data, this.epoch);
      this.progress.start(this.epoch, this.options.epochs, lengthOf(batches), "val");
      for await (const batch of batches) {
        const info: StepInfo = { epoch: this.epoch, index: index++ };
        let size: number, values: Record<string, number>;
        try {
          ({ size, values } = torch.tidy(() => torch.noGrad(() => {
            const result = evalStep(model, batch, info);
            if (!result || typeof result !== "object") throw new FlareError(`evalStep must return { loss?, size?, preds?, target?, logs? }, got ${String(result)}`, "E_TYPE");
            const values: Record<string, number> = {};
            let parts: Record<string, Tensor> = {};
            if (result.loss !== undefined) {
              const reduced = totalLoss(result.loss, "evalStep");
              values.loss = reduced.total.item();
              parts = reduced.parts;
            }
            this.updateMetrics(result);
            return { size: sizeOf(result, batch, "evalStep"), values: { ...values, ...scalars(result, parts, "evalStep") } };
          })));
        } finally {
          this.disposeBatch(batch);
        }
        for (const [name, v] of Object.entries(values)) averages.add(name, v * size, size);
        this.progress.step(index, "loss" in values ? { loss: averages.mean("loss") } : {});
      }
    } finally {
      model.train(wasTraining);
    }
    return { ...averages.means(), ...this.computeMetrics() };
  }
}
