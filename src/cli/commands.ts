// The flare commands: each one's flags (a typed table, also its --help), its
// positional arguments, and the task it calls.
import { FlareError } from "../errors.js";
import { buildInfo } from "../tensor/index.js";
import { trainClassifier, evaluateClassifier, type ClassifyData } from "../tasks/classify.js";
import { predict } from "../tasks/predict.js";
import { finetuneClassifier } from "../tasks/finetune_task.js";
import { augment, MAX_AUGMENT_N } from "../tasks/augment.js";
import { stylize } from "../tasks/stylize.js";
import { makeBananas, makeShapes } from "../vision/datasets/generators/index.js";
import { evaluateCocoFiles, cocoEvaluationJson } from "../vision/metrics/index.js";
import { trainSegmenter, evaluateSegmenter, segmentImages, type SegmentData } from "../tasks/segment.js";
import { trainDetector, evaluateDetector } from "../tasks/detect.js";
import { detectImages } from "../tasks/detect_images.js";
import type { DetectData } from "../tasks/detect_data.js";
import { launchCommand, withNproc } from "./launch.js";
import { serveRuns, DEFAULT_PORT, DEFAULT_HOST } from "../serve/index.js";

import { demoCommand, reportCommand } from "./report_commands.js";
import { parseFlags, formatHelp, keyValueFlag, type FlagSpecs, type FlagValue, type PositionalSpec, type ParsedFlags } from "./flags.js";

type Values = Record<string, FlagValue>;

export interface Command {
  /** The words after `flare` ("train classify"). */
  name: string;
  summary: string;
  flags: FlagSpecs;
  positional?: PositionalSpec;
  run(values: Values, positionals: string[], print: (line: string) => void): Promise<void>;
}

/** Upper bounds of the count flags (README: reliability). */
const LIMITS = { width: 4096, side: 16384, epochs: 1_000_000, batchSize: 65_536, count: 1_000_000, topk: 100_000 };

const json: FlagSpecs = { json: { type: "boolean", description: "print JSON (lines: progress events, then the result) instead of text" } };
/** --weights of the commands that load a run's trained model. */
const runWeights: FlagSpecs = { weights: { type: "string", required: true, placeholder: "W.safetensors", description: "the weights (a run's model.safetensors)" } };
const runFolder: FlagSpecs = {
  "runs-dir": { type: "string", default: "runs", placeholder: "DIR", description: "where run folders go" },
  name: { type: "string", placeholder: "NAME", description: "the run folder's name under the runs dir" },
  resume: { type: "boolean", description: "continue the run from its last checkpoint" },
};

/** --no-tensorboard: for the training commands whose task passes `tensorboard` on to the Trainer. */
const tensorboardFlag: FlagSpecs = { "no-tensorboard": { type: "boolean", description: "do not write the TensorBoard event file (events.out.tfevents.*) in the run folder" } };

/** Options for a task: the flags given (and defaulted), without the CLI's own; --no-tensorboard is tensorboard: false. */
function taskOptions(values: Values, drop: string[] = []): Record<string, unknown> {
  const options: Record<string, unknown> = Object.fromEntries(Object.entries(values).filter(([k]) => !["json", "noTensorboard", ...drop].includes(k)));
  if (values.noTensorboard === true) options.tensorboard = false;
  return options;
}

/** --crop H,W as [height, width]. */
function cropFlag(value: FlagValue | undefined, command: string): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = (value as string[]).map((v) => Number(v));
  if (parts.length !== 2 || !parts.every((v) => Number.isInteger(v) && v > 0))
    throw new FlareError(`${command}: --crop must be two positive integers H,W (such as 320,480), got '${(value as string[]).join(",")}'`, "E_ARGUMENT");
  return [parts[0], parts[1]];
}

const TASK_COMMANDS: Command[] = [
  {
    name: "info",
    summary: "What flare was built against (libtorch, ABI, threads, CUDA, Gloo), as JSON.",
    flags: {},
    async run(_values, _positionals, print) { print(JSON.stringify(buildInfo(), null, 2)); },
  },
  {
    name: "train classify",
    summary: "Trains an image classifier; writes runs/NAME/ (config.json, metrics.jsonl, steps.jsonl, checkpoints/, model.safetensors, curves.svg).",
    positional: { name: "DIR", min: 0, max: 1, description: "the dataset folder, after --data cifar10 or --data imagefolder (same as --data-root)" },
    flags: {
      data: { type: "choice", choices: ["fashion-mnist", "cifar10", "imagefolder"], required: true, description: "the dataset" },
      "data-root": { type: "string", placeholder: "DIR", description: "the dataset folder (Fashion-MNIST's default: Debian's dataset-fashion-mnist)" },
      model: { type: "string", default: "resnet18-small", placeholder: "NAME", description: "a model name models.get knows" },
      width: { type: "int", min: 1, max: LIMITS.width, description: "the model's width (resnet18-small: channels of the first stage)" },
      size: { type: "int", min: 1, max: LIMITS.side, description: "image side for imagefolder data (default: the model's crop size)" },
      epochs: { type: "int", min: 1, max: LIMITS.epochs, default: 10, description: "training epochs" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 256, description: "images per batch" },
      lr: { type: "number", min: 0, exclusiveMin: true, default: 0.1, description: "SGD learning rate (cosine schedule)" },
      momentum: { type: "number", min: 0, default: 0, description: "SGD momentum" },
      "weight-decay": { type: "number", min: 0, default: 0, description: "SGD weight decay" },
      limit: { type: "int", min: 1, description: "use only the first N training and test images (tensor datasets)" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of weights, shuffling and augmentation" },
      ...runFolder,
      ...tensorboardFlag,
      ...json,
    },
    async run(values, positionals, print) {
      if (positionals.length && values.dataRoot !== undefined) throw new FlareError("flare train classify: give the dataset folder once (after --data or as --data-root)", "E_ARGUMENT");
      const dataRoot = (positionals[0] ?? values.dataRoot) as string | undefined;
      const { history, runDir } = await trainClassifier({
        ...taskOptions(values, ["dataRoot"]), data: values.data as ClassifyData, ...(dataRoot !== undefined ? { dataRoot } : {}),
        output: values.json ? "json" : "auto",
      });
      const last = history[history.length - 1];
      print(values.json ? JSON.stringify({ event: "done", runDir, ...last })
        : `done: ${runDir}  ${last ? `val_acc ${last.val_acc?.toFixed(4)}  val_loss ${last.val_loss?.toFixed(4)}` : ""}`);
    },
  },
  {
    name: "train segment",
    summary: "Trains a semantic segmentation model (d2l 14.11's FCN by default) on the generated shapes set or Pascal VOC; writes runs/NAME/ with per-epoch pixel accuracy and mIoU.",
    positional: { name: "DIR", min: 0, max: 1, description: "the dataset folder: shapes (generated there if missing; default RUNS/segment-shapes-SIZE) or VOC2012" },
    flags: {
      data: { type: "choice", choices: ["shapes", "voc"], default: "shapes", description: "the dataset" },
      model: { type: "string", default: "fcn-resnet18", placeholder: "NAME", description: "fcn-resnet18, fcn8s-resnet18 or fcn-resnet50" },
      "backbone-weights": { type: "string", placeholder: "R18.safetensors", description: "resnet18 classification weights for the FCN body (the book starts from ImageNet's)" },
      "aux-loss": { type: "boolean", description: "fcn-resnet50: train the auxiliary head on layer3 too (loss weight 0.5)" },
      crop: { type: "list", placeholder: "H,W", description: "the book's joint random crop (voc default 320,480; images smaller are skipped and counted)" },
      size: { type: "int", min: 32, max: LIMITS.side, description: "generated shapes: the image side (default 160)" },
      count: { type: "int", min: 1, max: LIMITS.count, description: "generated shapes: training images (default 1000)" },
      "val-count": { type: "int", min: 1, max: LIMITS.count, description: "generated shapes: validation images (default 100)" },
      limit: { type: "int", min: 1, description: "use only the first N training and validation images" },
      augment: { type: "choice", choices: ["dihedral", "hflip", "none"], description: "random symmetries of the training images and labels (shapes default dihedral: flips and turns; voc: none, the book's crop only)" },
      epochs: { type: "int", min: 1, max: LIMITS.epochs, description: "training epochs (default 5)" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, description: "images per batch (default 8)" },
      optimizer: { type: "choice", choices: ["adam", "sgd"], default: "adam", description: "adam (from scratch, the default) or sgd (the book's)" },
      lr: { type: "number", min: 0, exclusiveMin: true, description: "learning rate (default adam 0.001, sgd 0.05)" },
      momentum: { type: "number", min: 0, description: "SGD momentum (default 0.9; sgd only)" },
      "weight-decay": { type: "number", min: 0, description: "weight decay (default adam 0, sgd 1e-4)" },
      schedule: { type: "choice", choices: ["cosine", "constant"], default: "cosine", description: "the learning-rate schedule (the book's: constant)" },
      loss: { type: "choice", choices: ["mean", "book"], default: "mean", description: "mean: over the batch's labelled pixels; book: each image's mean, summed over the batch (train_ch13)" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of weights, shuffling, crops and generated data" },
      ...runFolder,
      ...tensorboardFlag,
      ...json,
    },
    async run(values, positionals, print) {
      const crop = cropFlag(values.crop, "flare train segment");
      const { history, runDir, filtered } = await trainSegmenter({
        ...taskOptions(values, ["crop"]), data: values.data as SegmentData, ...(positionals[0] !== undefined ? { dataRoot: positionals[0] } : {}),
        ...(crop ? { crop } : {}), output: values.json ? "json" : "auto",
      });
      const last = history[history.length - 1];
      print(values.json ? JSON.stringify({ event: "done", runDir, filtered, ...last })
        : `done: ${runDir}  ${last ? `val_pixel_acc ${last.val_pixel_acc?.toFixed(4)}  val_miou ${last.val_miou?.toFixed(4)}` : ""}${filtered.train + filtered.val ? `  (skipped as smaller than the crop: ${filtered.train} train, ${filtered.val} val)` : ""}`);
    },
  },
  {
    name: "train detect",
    summary: "Trains a detector (d2l 14.7's TinySSD, or any registered detection model: ssd-resnet18, yolo-resnet18, ...) on bananas or objects (generated when no folder is given), VOC or COCO; writes runs/NAME/ as train classify.",
    positional: { name: "DIR", min: 0, max: 1, description: "the dataset folder after --data (bananas: d2l's layout, generated into the cache when absent; voc: the VOC2012 folder; coco: DIR/{train,val}/ and DIR/annotations/instances_{train,val}.json)" },
    flags: {
      data: { type: "choice", choices: ["bananas", "objects", "voc", "coco"], required: true, description: "the dataset (objects: generated, 4 classes, small to large)" },
      model: { type: "string", default: "tiny-ssd", placeholder: "NAME", description: "a detection model models.get knows (tiny-ssd, ssd-resnet18, yolo-resnet18, ...)" },
      size: { type: "int", min: 8, max: LIMITS.side, default: 256, description: "images are resized to SIZE×SIZE (the model's input)" },
      epochs: { type: "int", min: 1, max: LIMITS.epochs, default: 20, description: "training epochs" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 32, description: "images per batch" },
      lr: { type: "number", min: 0, exclusiveMin: true, description: "SGD learning rate, constant (default: 0.2 for tiny-ssd as the book, 0.01 for the others)" },
      momentum: { type: "number", min: 0, description: "SGD momentum (default: 0 for tiny-ssd, 0.9 for the others)" },
      "weight-decay": { type: "number", min: 0, description: "SGD weight decay (default 5e-4)" },
      "grad-clip": { type: "number", min: 0, exclusiveMin: true, description: "clip the gradients' total norm (default: none for tiny-ssd, 10 for the others)" },
      count: { type: "int", min: 1, max: LIMITS.count, description: "generated bananas / objects: training images (default 1000 / 512)" },
      "val-count": { type: "int", min: 1, max: LIMITS.count, description: "generated bananas / objects: validation images (default 100 / 128)" },
      "image-size": { type: "int", min: 8, max: LIMITS.side, description: "generated bananas / objects: the images' side (default 256)" },
      "max-objects": { type: "int", min: 1, description: "padding rows per image (default: the most objects an image has)" },
      "model-option": { type: "strings", placeholder: "KEY=VALUE", description: "an option of the model, repeatable (torchvision's keyword arguments in camelCase: boxBatchSizePerImage=128, rpnPostNmsTopNTest=300); saved for eval detect and detect" },
      limit: { type: "int", min: 1, description: "use only the first N training and validation images" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of weights, shuffling and generated data" },
      ...runFolder,
      ...tensorboardFlag,
      ...json,
    },
    async run(values, [dataRoot], print) {
      const modelOptions = values.modelOption === undefined ? undefined : keyValueFlag(values.modelOption as string[], "flare train detect", "model-option");
      const { history, runDir } = await trainDetector({
        ...taskOptions(values, ["modelOption"]), data: values.data as DetectData, ...(dataRoot !== undefined ? { dataRoot } : {}), ...(modelOptions ? { modelOptions } : {}),
        output: values.json ? "json" : "auto",
      });
      const last = history[history.length - 1];
      const f = (v: number | undefined) => (v === undefined ? "-" : v.toExponential(2));
      print(values.json ? JSON.stringify({ event: "done", runDir, ...last })
        : `done: ${runDir}  ${last?.train_class_err !== undefined ? `class err ${f(last?.train_class_err)}, bbox mae ${f(last?.train_bbox_mae)}` : `loss ${f(last?.train_loss)}`}, val mAP@0.5 ${last?.val_map50?.toFixed(3)}, val mAP ${last?.val_map?.toFixed(3)}`);
    },
  },
  {
    name: "finetune",
    summary: "Fine-tunes pretrained weights on an image folder (DIR/train/<class>/*, DIR/test/<class>/*), as d2l 14.2: a new head, a slower or frozen body.",
    flags: {
      weights: { type: "string", required: true, placeholder: "W.safetensors", description: "the pretrained weights" },
      arch: { type: "string", required: true, placeholder: "NAME", description: "their architecture (resnet18, resnet18-small, ...)" },
      data: { type: "string", required: true, placeholder: "DIR", description: "the image folder" },
      "head-lr-mult": { type: "number", min: 0, default: 10, description: "the new head's lr as a multiple of the body's" },
      freeze: { type: "list", placeholder: "A,B", description: "module-name prefixes whose parameters stay fixed (layer1,layer2 or 0,1)" },
      lr: { type: "number", min: 0, exclusiveMin: true, default: 5e-4, description: "the body's SGD learning rate" },
      epochs: { type: "int", min: 1, max: LIMITS.epochs, default: 5, description: "training epochs" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 32, description: "images per batch" },
      "weight-decay": { type: "number", min: 0, default: 1e-3, description: "SGD weight decay" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of the head, shuffling and augmentation" },
      ...runFolder,
      ...tensorboardFlag,
      ...json,
    },
    async run(values, _positionals, print) {
      const { history, runDir, classes } = await finetuneClassifier({
        ...taskOptions(values), weights: values.weights as string, arch: values.arch as string, data: values.data as string,
        freeze: (values.freeze as string[] | undefined) ?? [], output: values.json ? "json" : "auto",
      });
      const last = history[history.length - 1];
      print(values.json ? JSON.stringify({ event: "done", runDir, classes, ...last })
        : `done: ${runDir}  classes ${classes.join(", ")}  val_acc ${last?.val_acc?.toFixed(4)}`);
    },
  },
  {
    name: "augment",
    summary: "Draws an image through a transform pipeline n times, as one grid picture (d2l 14.1's figures).",
    positional: { name: "IMAGE", min: 1, max: 1, description: "the image file" },
    flags: {
      transform: { type: "string", required: true, placeholder: "SPEC", description: `the pipeline, e.g. "RandomResizedCrop(200, scale=(0.1, 1)) | ColorJitter(0.5, 0, 0, 0)"` },
      out: { type: "string", required: true, placeholder: "FILE", description: "the grid image to write (.png, .jpg)" },
      n: { type: "int", min: 1, max: MAX_AUGMENT_N, default: 8, description: "how many augmentations" },
      nrow: { type: "int", min: 1, max: MAX_AUGMENT_N, description: "images per row (default min(n, 4))" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of the random transforms" },
      ...json,
    },
    async run(values, [image], print) {
      const result = await augment(image, {
        transform: values.transform as string, out: values.out as string, n: values.n as number, seed: values.seed as number,
        ...(values.nrow !== undefined ? { nrow: values.nrow as number } : {}),
      });
      print(values.json ? JSON.stringify(result) : `wrote ${result.n} augmentations of ${image} to ${result.out}`);
    },
  },
  {
    name: "data make",
    summary: "Writes a generated data set that the dataset loaders read: bananas (detection: d2l banana, VOC and COCO layouts) or shapes (segmentation, VOC layout).",
    positional: { name: "KIND", min: 1, max: 1, description: "bananas or shapes" },
    flags: {
      out: { type: "string", required: true, placeholder: "DIR", description: "the folder to write" },
      count: { type: "int", min: 1, max: LIMITS.count, description: "training images (default 1000 bananas, 500 shapes)" },
      "val-count": { type: "int", min: 1, max: LIMITS.count, description: "validation images (default 100)" },
      size: { type: "int", min: 8, max: LIMITS.side, description: "the image side (default 256)" },
      seed: { type: "int", min: 0, description: "the generator's seed" },
      ...json,
    },
    async run(values, [kind], print) {
      if (kind !== "bananas" && kind !== "shapes") throw new FlareError(`flare data make: unknown set '${kind}' (bananas or shapes)`, "E_ARGUMENT");
      const options = { ...taskOptions(values), out: values.out as string };
      const manifest = kind === "bananas" ? await makeBananas(options) : await makeShapes(options);
      print(values.json ? JSON.stringify(manifest) : `wrote ${kind} to ${options.out}`);
    },
  },
  {
    name: "eval detect",
    summary: "COCO box evaluation (COCOeval's 12 numbers, in its layout): of a COCO results list against COCO ground truth (--gt --dt), or of trained weights on a data set's validation images (--weights --data).",
    positional: { name: "DIR", min: 0, max: 1, description: "with --data: the dataset folder (as train detect)" },
    flags: {
      gt: { type: "string", placeholder: "instances.json", description: "ground truth: a COCO instances file (with --dt)" },
      dt: { type: "string", placeholder: "detections.json", description: "detections: a COCO results list ([{ image_id, category_id, bbox, score }, ...])" },
      weights: { type: "string", placeholder: "W.safetensors", description: "trained weights to evaluate (with --data)" },
      data: { type: "choice", choices: ["bananas", "objects", "voc", "coco"], description: "the data set whose validation images to evaluate on" },
      model: { type: "string", placeholder: "NAME", description: "the weights' architecture (default: the run's config.json next to the weights, else tiny-ssd)" },
      size: { type: "int", min: 8, max: LIMITS.side, description: "images are resized to SIZE×SIZE (default: the run's, from config.json next to the weights, else 256)" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 32, description: "images per batch" },
      limit: { type: "int", min: 1, description: "the first N validation images only" },
      count: { type: "int", min: 1, max: LIMITS.count, description: "generated bananas / objects: training images (default 1000 / 512)" },
      "val-count": { type: "int", min: 1, max: LIMITS.count, description: "generated bananas / objects: validation images (default 100 / 128)" },
      "image-size": { type: "int", min: 8, max: LIMITS.side, description: "generated bananas / objects: the images' side (default 256)" },
      seed: { type: "int", min: 0, description: "generated bananas: the generator's seed (default 0)" },
      ...json,
    },
    async run(values, [dataRoot], print) {
      const files = values.gt !== undefined || values.dt !== undefined;
      const trained = values.weights !== undefined || values.data !== undefined;
      if (files === trained) throw new FlareError("flare eval detect: give either --gt FILE --dt FILE, or --weights W --data bananas|objects|voc|coco [DIR]", "E_ARGUMENT");
      if (files) {
        if (values.gt === undefined || values.dt === undefined) throw new FlareError(`flare eval detect: --${values.gt === undefined ? "gt" : "dt"} is missing (--gt and --dt go together)`, "E_ARGUMENT");
        const result = evaluateCocoFiles(values.gt as string, values.dt as string);
        print(values.json ? JSON.stringify(cocoEvaluationJson(result)) : result.text);
        return;
      }
      if (values.weights === undefined || values.data === undefined) throw new FlareError(`flare eval detect: --${values.weights === undefined ? "weights" : "data"} is missing (--weights and --data go together)`, "E_ARGUMENT");
      const result = await evaluateDetector({
        ...taskOptions(values, ["gt", "dt"]), weights: values.weights as string, data: values.data as DetectData, ...(dataRoot !== undefined ? { dataRoot } : {}),
      });
      print(values.json ? JSON.stringify({ stats: result.stats, ...result.named, numImages: result.numImages, classErr: result.classErr, bboxMae: result.bboxMae }) : result.text);
    },
  },
  {
    name: "eval segment",
    summary: "Loss, pixel accuracy and mIoU (torchvision's confusion matrix, 255 ignored) of saved segmentation weights on a set's validation split.",
    positional: { name: "DIR", min: 1, max: 1, description: "the shapes or VOC2012 folder" },
    flags: {
      ...runWeights,
      data: { type: "choice", choices: ["shapes", "voc"], default: "shapes", description: "the dataset" },
      model: { type: "string", default: "fcn-resnet18", placeholder: "NAME", description: "their architecture" },
      crop: { type: "list", placeholder: "H,W", description: "the crop (voc default 320,480, as the book tests)" },
      limit: { type: "int", min: 1, description: "the first N validation images only" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 16, description: "images per batch" },
      "per-class": { type: "boolean", description: "also report each class's IoU" },
      ...json,
    },
    async run(values, [dir], print) {
      const crop = cropFlag(values.crop, "flare eval segment");
      const result = await evaluateSegmenter({ ...taskOptions(values, ["crop"]), weights: values.weights as string, data: values.data as SegmentData, dataRoot: dir, ...(crop ? { crop } : {}) });
      print(values.json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  "));
    },
  },
  {
    name: "segment",
    summary: "Segments images with saved weights: writes each one's label map in the VOC palette (NAME_labels.png) and an overlay on the image (NAME_overlay.png).",
    positional: { name: "IMAGE...", min: 1, max: Infinity, description: "image files" },
    flags: {
      ...runWeights,
      out: { type: "string", required: true, placeholder: "DIR", description: "the folder to write the pictures to" },
      model: { type: "string", default: "fcn-resnet18", placeholder: "NAME", description: "their architecture" },
      alpha: { type: "number", min: 0, default: 0.6, description: "the overlay's opacity (at most 1)" },
      ...json,
    },
    async run(values, files, print) {
      const results = await segmentImages(files, { weights: values.weights as string, out: values.out as string, model: values.model as string, alpha: values.alpha as number });
      for (const r of results) {
        const found = Object.entries(r.pixels).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${((100 * n) / (r.width * r.height)).toFixed(1)}%`);
        print(values.json ? JSON.stringify(r) : `${r.file}: ${found.join(", ")} -> ${r.labels}, ${r.overlay}`);
      }
    },
  },
  {
    name: "eval",
    summary: "Test loss and accuracy of saved weights on Fashion-MNIST's test split.",
    flags: {
      ...runWeights,
      arch: { type: "string", default: "resnet18-small", placeholder: "NAME", description: "their architecture" },
      limit: { type: "int", min: 1, description: "the first N test images only" },
      "batch-size": { type: "int", min: 1, max: LIMITS.batchSize, default: 500, description: "images per batch" },
      "data-root": { type: "string", placeholder: "DIR", description: "Fashion-MNIST's folder (default: Debian's dataset-fashion-mnist)" },
      ...json,
    },
    async run(values, _positionals, print) {
      const result = await evaluateClassifier({ ...taskOptions(values), weights: values.weights as string });
      print(values.json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  "));
    },
  },
  {
    name: "detect",
    summary: "Detects objects in images with trained weights: writes each image with its boxes, labels and scores drawn, and OUT/detections.json (COCO results format).",
    positional: { name: "IMAGE...", min: 1, max: Infinity, description: "image files" },
    flags: {
      ...runWeights,
      out: { type: "string", required: true, placeholder: "DIR", description: "where the drawn images and detections.json go" },
      model: { type: "string", placeholder: "NAME", description: "their architecture (default: the run's config.json next to the weights, else tiny-ssd)" },
      threshold: { type: "number", min: 0, default: 0.5, description: "keep detections at least this confident" },
      "nms-threshold": { type: "number", min: 0, default: 0.5, description: "NMS IoU threshold" },
      classes: { type: "string", placeholder: "names.json", description: "a JSON array of class names (default: the run's config.json next to the weights, else indices)" },
      size: { type: "int", min: 8, max: LIMITS.side, description: "images are resized to SIZE×SIZE (default: the run's, else 256)" },
      ...json,
    },
    async run(values, files, print) {
      const result = await detectImages(files, {
        weights: values.weights as string, out: values.out as string, ...(values.model !== undefined ? { model: values.model as string } : {}), threshold: values.threshold as number,
        nmsThreshold: values.nmsThreshold as number, ...(values.classes !== undefined ? { classesFile: values.classes as string } : {}),
        ...(values.size !== undefined ? { size: values.size as number } : {}),
      });
      if (values.json) print(JSON.stringify(result.detections));
      else {
        for (const [i, file] of files.entries()) {
          const found = result.detections.filter((d) => d.image_id === i + 1);
          print(`${file}: ${found.length ? found.map((d) => `${d.label} ${d.score.toFixed(2)} [${[d.bbox[0], d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3]].map((v) => v.toFixed(0)).join(", ")}]`).join("; ") : "nothing"}  -> ${result.written[i]}`);
        }
        print(`wrote ${result.json}`);
      }
    },
  },
  {
    name: "predict",
    summary: "The top-k classes of images under saved weights.",
    positional: { name: "IMAGE...", min: 1, max: Infinity, description: "image files" },
    flags: {
      weights: { type: "string", required: true, placeholder: "W.safetensors", description: "the weights" },
      arch: { type: "string", default: "resnet18-small", placeholder: "NAME", description: "their architecture" },
      topk: { type: "int", min: 1, max: LIMITS.topk, default: 5, description: "classes to show per image" },
      classes: { type: "string", placeholder: "names.json", description: "a JSON array of class names (default: the model's preset, else indices)" },
      ...json,
    },
    async run(values, files, print) {
      const results = await predict(files, {
        arch: values.arch as string, weights: values.weights as string, topk: values.topk as number,
        ...(values.classes !== undefined ? { classesFile: values.classes as string } : {}),
      });
      for (const r of results) print(values.json ? JSON.stringify(r) : `${r.file}: ${r.top.map((t) => `${t.name} ${(t.probability * 100).toFixed(1)}%`).join(", ")}`);
    },
  },
  {
    name: "stylize",
    summary: "Neural style transfer (d2l 14.12): the content image repainted in the style image's colours and textures. Random multi-scale filters by default; --weights vgg19.safetensors for the book's VGG-19.",
    flags: {
      content: { type: "string", required: true, placeholder: "IMAGE", description: "the content image" },
      style: { type: "strings", required: true, placeholder: "IMAGE", description: "the style image (repeat --style for several)" },
      "style-mix": { type: "list", placeholder: "A,B", description: "with several --style: their shares of the style (e.g. 0.7,0.3; default equal)" },
      out: { type: "string", required: true, placeholder: "FILE", description: "the result (.png, .jpg, .webp)" },
      size: { type: "string", default: "300x450", placeholder: "HxW", description: "the result's height x width" },
      steps: { type: "int", min: 0, description: "Adam steps (default: the book's 500 with --weights, lr x 0.8 every 50; 200 with the random filters, lr x 0.8 every steps/10)" },
      "coarse-steps": { type: "int", min: 0, description: "how many of the first steps run at half the size, then upsampled (default: 0 with --weights; 3/4 of the steps with the random filters)" },
      lr: { type: "number", min: 0, exclusiveMin: true, default: 0.3, description: "Adam's learning rate" },
      "content-weight": { type: "number", min: 0, default: 1, description: "weight of the content loss" },
      "style-weight": { type: "number", min: 0, default: 1e4, description: "weight of the style loss" },
      "tv-weight": { type: "number", min: 0, default: 10, description: "weight of the total-variation loss" },
      weights: { type: "string", placeholder: "W.safetensors", description: "VGG-19 weights (torchvision's or timm's names): the book's extractor, layers 25 / 0,5,10,19,28" },
      seed: { type: "int", min: 0, default: 0, description: "the seed of the random filters (without --weights)" },
      every: { type: "int", min: 0, default: 50, description: "write the current image every N steps as FILE.stepN.png (0: never)" },
      curves: { type: "string", placeholder: "FILE.svg", description: "write the three loss curves (log scale) as SVG" },
      tensorboard: { type: "string", placeholder: "DIR", description: "write a TensorBoard event file in DIR: the losses per step and the images" },
      ...json,
    },
    async run(values, _positionals, print) {
      const mix = values.styleMix as string[] | undefined;
      const styleMix = mix?.map((t) => {
        const v = Number(t);
        if (!Number.isFinite(v) || v < 0) throw new FlareError(`flare stylize: --style-mix must be non-negative numbers, got '${t}'`, "E_ARGUMENT");
        return v;
      });
      const styles = values.style as string[];
      if (styleMix && styleMix.length !== styles.length)
        throw new FlareError(`flare stylize: --style-mix has ${styleMix.length} shares for ${styles.length} --style image(s); give one share per style image`, "E_ARGUMENT");
      const result = await stylize({
        ...taskOptions(values, ["styleMix", "style"]) as Omit<Parameters<typeof stylize>[0], "style">,
        style: styles, ...(styleMix ? { styleMix } : {}), output: values.json ? "json" : "auto",
      });
      const f = result.final;
      print(values.json ? JSON.stringify({ event: "done", ...result })
        : `wrote ${result.out}  (${result.steps} steps, ${result.secondsPerStep.toFixed(3)} s/step, ${result.features})\n` +
          `losses: content ${f.content.toPrecision(4)}  style ${f.style.toPrecision(4)}  tv ${f.tv.toPrecision(4)}; ` +
          `Gram distance to the style ${result.gramDistance.start.toPrecision(4)} -> ${result.gramDistance.end.toPrecision(4)} (${result.gramDistance.reduction.toFixed(1)}x lower)`);
    },
  },
  {
    name: "serve",
    summary: "A local web viewer of run folders: the runs, their loss and metric curves (live while they train), images and config. Read-only; Ctrl-C stops it.",
    positional: { name: "DIR", min: 0, max: 1, description: "the runs folder (default runs)" },
    flags: {
      port: { type: "int", min: 0, max: 65535, default: DEFAULT_PORT, description: "the TCP port (0: any free one)" },
      host: { type: "string", default: DEFAULT_HOST, placeholder: "ADDRESS", description: "the address to listen on (127.0.0.1: this machine only; 0.0.0.0 shows your runs to the network)" },
    },
    async run(values, positionals, print) {
      const server = await serveRuns(positionals[0] ?? "runs", { port: values.port as number, host: values.host as string });
      print(`flare serve: ${server.url}  (runs in ${server.root}; Ctrl-C stops)`);
      if (!["127.0.0.1", "localhost", "::1"].includes(server.host)) print(`flare serve: listening on ${server.host}: anyone who can reach this address can read these runs`);
      // Runs until a signal; then the open streams end and the port is free again.
      await new Promise<void>((resolve) => {
        const stop = () => { process.off("SIGINT", stop); process.off("SIGTERM", stop); void server.close().then(resolve); };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    },
  },
];

/** Every command: the tasks' (the train commands with --nproc, data-parallel through the launcher) and `flare launch`. */
export const COMMANDS: Command[] = [...TASK_COMMANDS.map((c) => (c.name.startsWith("train ") ? withNproc(c) : c)), launchCommand, demoCommand, reportCommand];

/** The general usage: every command's usage line and summary. */
export function usage(): string {
  const lines = COMMANDS.map((c) => `  ${`flare ${c.name}`.padEnd(22)}${c.summary}`);
  // setup runs before the addon loads, so bin.ts handles it (src/cli/setup.ts).
  lines.unshift(`  ${"flare setup".padEnd(22)}Installs what is missing (libtorch) and makes the native addon loadable: the shipped prebuilt, or a build.`);
  return `usage: flare <command> [flags]    (flare <command> --help: that command's flags)\n\ncommands:\n${lines.join("\n")}\n`;
}

/** Finds the command named by the first words of argv; the rest are its arguments. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

export type Parsed =
  | { kind: "help"; text: string }
  | { kind: "run"; command: Command; flags: ParsedFlags };

/**
 * What argv asks for: a help text (flare --help, flare help [COMMAND],
 * flare COMMAND --help, a bare group such as `flare train`) or a command with its
 * parsed flags. Unknown commands and bad flags are FlareErrors.
 */
export function parseCommandLine(argv: string[]): Parsed {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h") return { kind: "help", text: usage() };
  if (argv[0] === "help") {
    if (argv.length === 1) return { kind: "help", text: usage() };
    const found = findCommand(argv.slice(1));
    if (!found || found.rest.length) throw new FlareError(`flare help: unknown command '${argv.slice(1).join(" ")}'\n\n${usage()}`, "E_ARGUMENT");
    return { kind: "help", text: helpOf(found.command) };
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length && (argv.length === 1 || argv[1] === "--help" || argv[1] === "-h"))
      return { kind: "help", text: `usage: flare ${argv[0]} <${group.map((c) => c.name.split(" ")[1]).join("|")}> [flags]\n\n${group.map((c) => `  flare ${c.name}: ${c.summary}`).join("\n")}\n` };
    const what = group.length ? `'${argv[0]} ${argv[1]}'` : `'${argv[0]}'`;
    throw new FlareError(`flare: unknown command ${what}\n\n${usage()}`, "E_ARGUMENT");
  }
  const name = `flare ${found.command.name}`;
  const flags = parseFlags(name, found.command.flags, found.rest, found.command.positional);
  if (flags.help) return { kind: "help", text: helpOf(found.command) };
  return { kind: "run", command: found.command, flags };
}

export function helpOf(command: Command): string {
  return formatHelp(`flare ${command.name}`, command.summary, command.flags, command.positional);
}
