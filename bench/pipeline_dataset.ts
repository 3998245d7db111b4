// The dataset of bench/pipeline.ts, also loaded by DataLoader workers: every
// sample decodes the same ~500×375 JPEG (bytes held in memory) and runs the
// typical classification pipeline on it.
import { readFileSync } from "node:fs";
import type { Tensor } from "../src/index.js";
import { decodeImage } from "../src/vision/io.js";
import { Compose, RandomResizedCrop, RandomHorizontalFlip, ColorJitter, Normalize, ToDtype } from "../src/vision/transforms/index.js";

export interface PipelineArgs { jpeg: string; count: number }

export function pipeline(): Compose {
  return new Compose([
    new RandomResizedCrop(224, { antialias: false }), new RandomHorizontalFlip(), new ToDtype("float32", { scale: true }),
    new ColorJitter(0.4, 0.4, 0.4, 0.1), new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
  ]);
}

export function createDataset(args: PipelineArgs) {
  const bytes = readFileSync(args.jpeg);
  const transform = pipeline();
  return {
    length: args.count,
    async get(_index: number): Promise<[Tensor, number]> {
      const image = await decodeImage(bytes, { mode: "rgb" });
      const out = transform.forward(image);
      image.dispose();
      return [out, 0];
    },
  };
}
