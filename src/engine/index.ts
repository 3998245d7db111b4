// engine: one Trainer for every task through a step protocol; metrics, progress,
// the run folder, atomic checkpoints, resume.
export { Trainer, envRank, type TrainerOptions, type DataSource, type Callbacks, type EpochMetrics } from "./trainer.js";
export { supervisedStep, type Step, type StepResult, type StepInfo } from "./step.js";
export { saveCheckpoint, loadCheckpoint, type CheckpointState, type TrainingParts } from "./checkpoint.js";
export { type Metric, TopKAccuracy, topKName, correctTopK, Averages } from "./metrics.js";
export { makeProgress, formatDuration, type OutputMode, type Progress, type ProgressStream } from "./progress.js";
export { RunFolder, plotSvg } from "./run.js";
export { SummaryWriter, type SummaryWriterOptions, crc32c, maskedCrc32c, encodeRecord, encodeEvent, truncateEventFiles, runTag, type EventFields, type SummaryValue, type SummaryImage } from "./tensorboard.js";
