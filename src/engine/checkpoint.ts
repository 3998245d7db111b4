// Checkpoints: model, optimizer, scheduler and RNG state in one safetensors
// file, written atomically (the previous checkpoint survives a crash or a full
// disk mid-write).
import { FlareError } from "../errors.js";
import * as torch from "../tensor/index.js";
import type { Module } from "../nn/index.js";
import { flattenStateDict, unflattenStateDict, type Optimizer } from "../optim/index.js";
import type { LRScheduler } from "../optim/lr_scheduler.js";
import { safetensors } from "../io/index.js";

export interface CheckpointState {
  epoch: number;           // the last finished epoch (0-based)
  globalStep: number;
  extra?: Record<string, unknown>;
}

export interface TrainingParts {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
}

const META = "flare.checkpoint";

export function saveCheckpoint(path: string, parts: TrainingParts, state: CheckpointState): void {
  torch.tidy(() => {
    const tensors = new Map<string, torch.Tensor>();
    for (const [key, value] of parts.model.stateDict()) tensors.set(`model.${key}`, value);
    let metadata: Record<string, string> = {};
    if (parts.optimizer) {
      const flat = flattenStateDict(parts.optimizer.stateDict(), "optimizer.");
      for (const [key, value] of flat.tensors) tensors.set(key, value);
      metadata = { ...flat.metadata };
    }
    tensors.set("rng.torch", torch.getRngState());
    metadata[META] = JSON.stringify({
      ...state,
      scheduler: parts.scheduler?.stateDict() ?? null,
      jsGenerator: torch.defaultGenerator.getState(),
      version: 1,
    });
    safetensors.saveFile(tensors, path, metadata);
  });
}

type SavedState = CheckpointState & { scheduler: unknown; jsGenerator: number };

/** The checkpoint's own metadata, checked before anything is restored (a bad file changes nothing). */
export function readCheckpointMeta(path: string, metadata: Record<string, string>): SavedState {
  const bad = (problem: string): never => {
    throw new FlareError(`${path}: corrupt checkpoint: ${problem}; nothing was restored (the file is left as it is)`, "E_FORMAT");
  };
  const text = metadata[META];
  if (text === undefined) throw new FlareError(`${path} is not a flare checkpoint (no "${META}" metadata)`, "E_FORMAT");
  let saved: unknown;
  try { saved = JSON.parse(text); } catch (error) {
    return bad(`its "${META}" metadata is not JSON (${(error as Error).message})`);
  }
  if (saved === null || typeof saved !== "object" || Array.isArray(saved)) return bad(`its "${META}" metadata is ${JSON.stringify(saved)}, not an object`);
  const s = saved as Record<string, unknown>;
  if (!Number.isSafeInteger(s.epoch) || (s.epoch as number) < -1) bad(`epoch is ${JSON.stringify(s.epoch)}, not an epoch number`);
  if (!Number.isSafeInteger(s.globalStep) || (s.globalStep as number) < 0) bad(`globalStep is ${JSON.stringify(s.globalStep)}, not a step count`);
  if (s.jsGenerator !== undefined && !Number.isSafeInteger(s.jsGenerator)) bad(`jsGenerator is ${JSON.stringify(s.jsGenerator)}, not a generator state`);
  if (s.scheduler !== undefined && s.scheduler !== null && (typeof s.scheduler !== "object" || Array.isArray(s.scheduler)))
    bad(`scheduler is ${JSON.stringify(s.scheduler)}, not a scheduler state`);
  if (s.extra !== undefined && (s.extra === null || typeof s.extra !== "object" || Array.isArray(s.extra))) bad(`extra is ${JSON.stringify(s.extra)}, not an object`);
  return saved as SavedState;
}

/** Restores everything saveCheckpoint wrote into `parts`; returns the saved state. */
export function loadCheckpoint(path: string, parts: TrainingParts): CheckpointState {
  const { tensors, metadata } = safetensors.loadFileWithMetadata(path);
  try {
    const saved = readCheckpointMeta(path, metadata);
    const model = new Map<string, torch.Tensor>();
    for (const [key, value] of tensors) if (key.startsWith("model.")) model.set(key.slice(6), value);
    parts.model.loadStateDict(model);
    if (parts.optimizer) parts.optimizer.loadStateDict(unflattenStateDict(tensors, metadata, "optimizer."));
    if (parts.scheduler && saved.scheduler) parts.scheduler.loadStateDict(saved.scheduler as never);
    const rng = tensors.get("rng.torch");
    if (rng) torch.setRngState(rng);
    if (saved.jsGenerator !== undefined) torch.defaultGenerator.setState(saved.jsGenerator);
    return { epoch: saved.epoch, globalStep: saved.globalStep, extra: saved.extra };
  } finally {
    torch.dispose([...tensors.values()]);
  }
}
