// Image-folder data for the classification tasks: DIR/train/<class>/* and
// DIR/test/<class>/*, with d2l's augmentation for training (random resized
// crop, flip) and resize + centre crop for testing, normalised like the source model.
import * as path from "node:path";
import * as torch from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { DataLoader } from "../data/index.js";
import { ImageFolder } from "../vision/datasets/image_folder.js";
import type { DataSource } from "../engine/trainer.js";
import type { Preset } from "./presets.js";
import { Compose, RandomResizedCrop, RandomHorizontalFlip, Resize, CenterCrop, ToDtype, Normalize, type Transform } from "../vision/transforms/index.js";


function loader(root: string, mode: "rgb" | "gray", pipeline: Transform, batchSize: number, shuffle: boolean, seed: number) {
  const dataset = new ImageFolder<number>({
    root, mode,
    transform: (image: Tensor, label: number) => { const out = torch.tidy(() => pipeline.forward(image)); image.dispose(); return [out, label]; },
  });
  const generator = new torch.Generator(seed);
  return { dataset, generator, loader: new DataLoader(dataset, { batchSize, shuffle, generator }) };
}

export function folderLoaders(dir: string, preset: Preset, size: number, batchSize: number, seed: number) {
  const mode = preset.gray ? "gray" : "rgb";
  const resize = Math.round((size * preset.resize) / preset.crop);
  const train = loader(path.join(dir, "train"), mode, new Compose([
    new ToDtype("float32", { scale: true }), new RandomResizedCrop(size), new RandomHorizontalFlip(),
    new Normalize(preset.mean, preset.std)]), batchSize, true, seed);
  const test = loader(path.join(dir, "test"), mode, new Compose([
    new ToDtype("float32", { scale: true }), new Resize(resize), new CenterCrop(size),
    new Normalize(preset.mean, preset.std)]), batchSize, false, seed);
  return {
    // The shuffle is reseeded from the epoch, so a resumed run sees the same order.
    train: ((epoch: number) => { train.generator.manualSeed(seed * 1000 + epoch); return train.loader; }) as unknown as DataSource,
    test: test.loader as unknown as DataSource,
    classes: train.dataset.classes,
    close: async () => { await Promise.all([train.loader.close?.(), test.loader.close?.()]); },
  };
}
