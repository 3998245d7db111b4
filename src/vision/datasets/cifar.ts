// CIFAR-10, binary version (cifar-10-binary.tar.gz unpacked): the folder
// cifar-10-batches-bin holds data_batch_1.bin .. data_batch_5.bin (train) and
// test_batch.bin, each record one label byte then 3072 pixel bytes (1024 red,
// 1024 green, 1024 blue, row-major 32×32), and batches.meta.txt with the class
// names one a line.
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { FILE_LIMITS, readRegularFile } from "../../io/files.js";
import { fromTypedArray, type Tensor } from "../../tensor/index.js";
import { applyTransform, checkIndex, checkRoot, isFile, type DatasetTransform } from "./_common.js";
import { datasetOptions } from "./_options.js";
import { optionNames } from "../../options.js";
import { datasetTransform, type TransformArg } from "./_transform.js";

export const CIFAR10_CLASSES: readonly string[] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
const RECORD = 1 + 3 * 32 * 32;
const TRAIN_FILES = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
const TEST_FILES = ["test_batch.bin"];

export interface CIFAR10Options<U = number> {
  /** The folder holding cifar-10-batches-bin (or that folder itself). */
  root?: string;
  /** The training batches (default) or the test batch. */
  train?: boolean;
  /** (image uint8 3×32×32, label) → [image, target], or a transforms.Transform (a Compose, ...) applied to the image. */
  transform?: TransformArg<number, U>;
  /** torchvision's target_transform: label → target. */
  targetTransform?: (target: number) => U;
}

/** CIFAR-10 from its binary batches: get(i) gives [image uint8 3×32×32, label 0..9]. */
export class CIFAR10<U = number> {
  readonly root: string;
  readonly train: boolean;
  /** The class names (from batches.meta.txt when present). */
  readonly classes: readonly string[];
  /** The label of each sample. */
  readonly targets: Uint8Array;
  /** The batch files read, in order. */
  readonly files: string[];
  private readonly pixels: Uint8Array;
  private readonly transform?: DatasetTransform<number, U>;

  /** new CIFAR10(root, { train: false }) as torchvision; new CIFAR10({ root, train }) works too. */
  constructor(options: CIFAR10Options<U> & { root: string });
  constructor(root: string, options?: Omit<CIFAR10Options<U>, "root">);
  constructor(rootOrOptions: string | CIFAR10Options<U>, maybeOptions?: Omit<CIFAR10Options<U>, "root">) {
    const what = "CIFAR10()";
    const options = datasetOptions<CIFAR10Options<U>>(rootOrOptions, maybeOptions, optionNames<CIFAR10Options<U>>({ root: 1, train: 1, transform: 1, targetTransform: 1 }), what);
    const given = checkRoot(options.root, what);
    this.transform = datasetTransform(options.transform, options.targetTransform, "label", what);
    this.train = options.train ?? true;
    const names = this.train ? TRAIN_FILES : TEST_FILES;
    const nested = path.join(given, "cifar-10-batches-bin");
    this.root = names.some((f) => isFile(path.join(nested, f))) || !names.some((f) => isFile(path.join(given, f))) ? nested : given;
    this.files = names.map((f) => path.join(this.root, f));

    const meta = path.join(this.root, "batches.meta.txt");
    this.classes = isFile(meta) ? readRegularFile(meta, { maxBytes: FILE_LIMITS.text, what }).toString("latin1").split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0) : CIFAR10_CLASSES;
    if (this.classes.length === 0) throw new FlareError(`${what}: ${meta} names no classes`, "E_FORMAT");

    const chunks: Buffer[] = [];
    for (const file of this.files) {
      const bytes = readRegularFile(file, { maxBytes: FILE_LIMITS.cifar, what, missingHint: "(expected the binary version, cifar-10-batches-bin)" });
      if (bytes.length === 0 || bytes.length % RECORD !== 0)
        throw new FlareError(`${what}: ${file} has ${bytes.length} bytes, not a whole number of ${RECORD}-byte records (1 label byte + 3072 pixel bytes): truncated or not a CIFAR-10 binary batch`, "E_FORMAT");
      for (let r = 0; r < bytes.length / RECORD; r++) {
        const label = bytes[r * RECORD];
        if (label >= this.classes.length)
          throw new FlareError(`${what}: ${file}: record ${r} has label ${label}, but there are ${this.classes.length} classes`, "E_FORMAT");
      }
      chunks.push(bytes);
    }
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const n = all.length / RECORD;
    this.targets = new Uint8Array(n);
    this.pixels = new Uint8Array(n * (RECORD - 1));
    for (let r = 0; r < n; r++) {
      this.targets[r] = all[r * RECORD];
      this.pixels.set(all.subarray(r * RECORD + 1, (r + 1) * RECORD), r * (RECORD - 1));
    }
  }

  get length(): number { return this.targets.length; }

  async get(index: number): Promise<[Tensor, U]> {
    const i = checkIndex(index, this.length, "CIFAR10.get()");
    const image = fromTypedArray(this.pixels.subarray(i * (RECORD - 1), (i + 1) * (RECORD - 1)), [3, 32, 32]);
    return applyTransform(this.transform, image, this.targets[i], "CIFAR10");
  }

  /** The whole split as tensors: images uint8 N×3×32×32 and labels int64 N. */
  tensors(): { images: Tensor; labels: Tensor } {
    return {
      images: fromTypedArray(this.pixels, [this.length, 3, 32, 32]),
      labels: fromTypedArray(this.targets, [this.length], { dtype: "int64" }),
    };
  }
}
