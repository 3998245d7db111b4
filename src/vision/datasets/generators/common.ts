// What the generators share: option checks, per-image seeds, the output
// folder, a small pool of in-flight encodes, and the manifest.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../../../errors.js";
import { Generator } from "../../../tensor/index.js";
import { writeFileAtomic } from "../../../io/safetensors.js";
import { defaultAssetDir, loadSources, type Source } from "./raster.js";

/**
 * The generator of image `index` of split `split`: each image depends only on
 * (seed, split, index), so a set of 8 is the first 8 of a set of 1000.
 */
export function imageGenerator(seed: number, split: number, index: number): Generator {
  let h = (seed >>> 0) ^ Math.imul(split + 1, 0x9e3779b9) ^ Math.imul(index + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return new Generator((h ^ (h >>> 16)) >>> 0);
}

export function checkCount(value: unknown, name: string, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || (v as number) < 0) throw new FlareError(`${what}: ${name} must be a non-negative integer, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return v as number;
}

export function checkSize(value: unknown, fallback: number, what: string): [number, number] {
  const v = value ?? fallback;
  const hw = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(hw) || hw.length !== 2 || !hw.every((n) => Number.isInteger(n) && n >= 16 && n <= 4096))
    throw new FlareError(`${what}: size must be an integer (square) or [height, width], each 16..4096, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return [hw[0], hw[1]];
}

export function checkRange(value: unknown, name: string, fallback: [number, number], what: string, low: number, high: number, integer = false): [number, number] {
  const v = value ?? fallback;
  const r = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((n) => typeof n === "number" && Number.isFinite(n) && n >= low && n <= high && (!integer || Number.isInteger(n))) || r[0] > r[1])
    throw new FlareError(`${what}: ${name} must be ${integer ? "an integer" : "a number"} or [min, max] within [${low}, ${high}], got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return [r[0], r[1]];
}

export function checkSeed(value: unknown, what: string): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new FlareError(`${what}: seed must be an integer in 0..2^32-1, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  return v as number;
}

export function checkOut(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0) throw new FlareError(`${what}: out must be the folder to write into, got ${JSON.stringify(value)}`, "E_ARGUMENT");
  try { mkdirSync(value, { recursive: true }); } catch (error) {
    throw new FlareError(`${what}: could not create ${value}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
  }
  return value;
}

/** The background pictures: the given files/folders, or the bundled assets (none found: painted backgrounds only). */
export async function backgroundSources(value: unknown, what: string): Promise<Source[]> {
  if (value !== undefined && (!Array.isArray(value) || !value.every((p) => typeof p === "string")))
    throw new FlareError(`${what}: backgrounds must be an array of image files or folders`, "E_ARGUMENT");
  const paths = (value as string[] | undefined) ?? [defaultAssetDir()].filter((d): d is string => d !== undefined);
  return loadSources(paths, what);
}

export function mkdirs(...dirs: string[]): void {
  for (const d of dirs) mkdirSync(d, { recursive: true });
}

export function writeFile(file: string, bytes: Uint8Array | string): void {
  try { writeFileSync(file, bytes); } catch (error) {
    throw new FlareError(`could not write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "E_IO");
  }
}

/** Runs async jobs with at most `limit` in flight (sharp encodes off the main thread). */
export class Pool {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown = null;
  constructor(private readonly limit: number) {}
  async add(job: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure;
    const p: Promise<void> = job().catch((error) => { this.failure ??= error; }).finally(() => { this.running.delete(p); });
    this.running.add(p);
  }
  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }
}

/** Writes the manifest last, atomically: its presence means the set is complete. */
export function writeManifest(out: string, manifest: unknown): void {
  writeFileAtomic(path.join(out, "manifest.json"), Buffer.from(JSON.stringify(manifest, null, 1) + "\n"));
}

export const SPLITS = ["train", "val"] as const;
export type Split = (typeof SPLITS)[number];
