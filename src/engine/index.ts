// engine: the Trainer loop, metrics, progress, run folder, atomic checkpoints, resume.
export { Trainer, type TrainerOptions, type DataSource, type Batch, type Callbacks, type EpochMetrics } from "./trainer.js";
export { saveCheckpoint, loadCheckpoint, type CheckpointState, type TrainingParts } from "./checkpoint.js";
export { correctTopK, Averages } from "./metrics.js";
export { makeProgress, type OutputMode, type Progress } from "./progress.js";
export { RunFolder, plotSvg } from "./run.js";
