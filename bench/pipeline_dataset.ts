// The dataset of bench/pipeline.ts, also loaded by DataLoader workers: every
// sample decodes the same ~500×375 JPEG (bytes held in memory) and runs the
// typical classification pipeline on it. The augmentations run on uint8, as
// torchvision's PIL path runs them (ColorJitter on uint8 is one native call);
// the collate turns the uint8 images into the normalized float32 batch in one
// pass (ToDtype(float32, scale) + Normalize + stack, the same values).
import { readFileSync } from "node:fs";
import type { Tensor } from "../src/index.js";
import { normalizeCollate } from "../src/data/index.js";
import { decodeImage } from "../src/vision/io.js";
import { Compose, RandomResizedCrop, RandomHorizontalFlip, ColorJitter } from "../src/vision/transforms/index.js";

export interface PipelineArgs { jpeg: string; count: number }

export const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];

/** uint8 [3, H, W] in, uint8 [3, 224, 224] out. */
export function pipeline(): Compose {
  return new Compose([new RandomResizedCrop(224, { antialias: false }), new RandomHorizontalFlip(), new ColorJitter(0.4, 0.4, 0.4, 0.1)]);
}

export const collateFn = normalizeCollate({ mean: MEAN, std: STD });

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
