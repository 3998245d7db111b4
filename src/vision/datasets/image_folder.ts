// ImageFolder (torchvision.datasets.ImageFolder): root/<class>/**/<image>, one
// folder per class (d2l's hot-dog set: train/hotdog, train/not-hotdog). Class
// names are the sorted folder names and their indices are positions in that
// order; the files of each class are found recursively, in torchvision's order
// (folders sorted by path, files sorted by name), and read lazily as RGB.
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import {
  applyTransform, checkIndex, checkOnError, checkRoot, imageSizeFromHeader, loadImage, Problems,
  type DatasetTransform, type OnError, type Skipped,
} from "./_common.js";
import { datasetOptions } from "./_options.js";
import { optionNames } from "../../options.js";
import { datasetTransform, type TransformArg } from "./_transform.js";

/** torchvision's IMG_EXTENSIONS. */

export const IMG_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

export interface ImageFolderOptions<U = number> {
  /** The folder of class folders (or pass it first: new ImageFolder(root, { transform })). */
  root?: string;
  /** File name endings that count as images (case-insensitive); default IMG_EXTENSIONS. */
  extensions?: readonly string[];
  /** (image uint8 3×H×W, class index) → [image, target], or a transforms.Transform (a Compose, ...) applied to the image. */
  transform?: TransformArg<number, U>;
  /** torchvision's target_transform: class index → target. */
  targetTransform?: (target: number) => U;
  /** How images are decoded (default "rgb", as torchvision's PIL loader). */
  mode?: "rgb" | "gray" | "rgba";
  /** Read each file's header while building the dataset, so files that are not images are found up front. */
  verify?: boolean;
  /**
   * An empty class folder, or (with verify) a file that is not an image: "raise"
   * (default) throws a FlareError naming it; "skip" records it in `skipped`
   * (an empty class keeps its index, with no samples).
   */
  onError?: OnError;
}

/** A classification dataset from one folder per class: get(i) gives [image uint8 C×H×W, class index]. */
export class ImageFolder<U = number> {
  readonly root: string;
  /** Class names, sorted. */
  readonly classes: string[];
  /** Class name → index. */
  readonly classToIdx: Record<string, number>;
  /** [file, class index] of every sample. */
  readonly samples: [string, number][];
  /** What was left out under onError "skip". */
  readonly skipped: Skipped[];
  private readonly transform?: DatasetTransform<number, U>;
  private readonly mode: "rgb" | "gray" | "rgba";

  /** new ImageFolder(root, { transform }) as torchvision; new ImageFolder({ root, transform }) works too. */
  constructor(options: ImageFolderOptions<U> & { root: string });
  constructor(root: string, options?: Omit<ImageFolderOptions<U>, "root">);
  constructor(rootOrOptions: string | ImageFolderOptions<U>, maybeOptions?: Omit<ImageFolderOptions<U>, "root">) {
    const what = "ImageFolder()";
    const options = datasetOptions<ImageFolderOptions<U>>(rootOrOptions, maybeOptions,
      optionNames<ImageFolderOptions<U>>({ root: 1, extensions: 1, transform: 1, targetTransform: 1, mode: 1, verify: 1, onError: 1 }), what);
    this.root = checkRoot(options.root, what);
    this.transform = datasetTransform(options.transform, options.targetTransform, "label", what);
    this.mode = options.mode ?? "rgb";
    if (!["rgb", "gray", "rgba"].includes(this.mode)) throw new FlareError(`${what}: mode must be "rgb", "gray" or "rgba", got ${JSON.stringify(this.mode)}`, "E_ARGUMENT");
    const extensions = (options.extensions ?? IMG_EXTENSIONS).map((e) => {
      if (typeof e !== "string" || e.length === 0) throw new FlareError(`${what}: extensions must be non-empty strings such as ".jpg", got ${JSON.stringify(e)}`, "E_ARGUMENT");
      return e.toLowerCase();
    });
    const problems = new Problems(checkOnError(options.onError, what), what);
    this.skipped = problems.skipped;

    let entries;
    try { entries = readdirSync(this.root, { withFileTypes: true }); } catch (error) {
      throw new FlareError(`${what}: could not list ${this.root}: ${(error as NodeJS.ErrnoException).code}`, "E_IO");
    }
    this.classes = entries.filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirectory(path.join(this.root, e.name))))
      .map((e) => e.name).sort(compare);
    if (this.classes.length === 0) throw new FlareError(`${what}: ${this.root} has no class folders (expected root/<class>/<image>)`, "E_IO");
    this.classToIdx = Object.fromEntries(this.classes.map((c, i) => [c, i]));

    this.samples = [];
    for (const [index, name] of this.classes.entries()) {
      const dir = path.join(this.root, name);
      const files = walk(dir).filter((f) => extensions.some((e) => f.toLowerCase().endsWith(e)));
      let count = 0;
      for (const file of files) {
        if (options.verify) {
          try { imageSizeFromHeader(file); } catch (error) {
            problems.report(file, (error as Error).message.replace(`${file}: `, ""), (error as FlareError).code === "E_IO" ? "E_IO" : "E_FORMAT");
            continue;
          }
        }
        this.samples.push([file, index]);
        count++;
      }
      if (count === 0)
        problems.report(dir, `class folder "${name}" has no ${files.length > 0 ? "readable " : ""}images (extensions ${extensions.join(", ")})`, "E_IO");
    }
  }

  get length(): number { return this.samples.length; }

  /** The class index of every sample. */
  get targets(): number[] { return this.samples.map((s) => s[1]); }

  async get(index: number): Promise<[Tensor, U]> {
    const [file, label] = this.samples[checkIndex(index, this.length, "ImageFolder.get()")];
    const image = await loadImage(file, "ImageFolder", this.mode);
    return applyTransform(this.transform, image, label, "ImageFolder");
  }
}

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Python's string order (by code point). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Files under dir, in torchvision's order: sorted(os.walk(dir, followlinks=True)), then sorted names. */
function walk(dir: string): string[] {
  const folders: [string, string[]][] = [];
  const visit = (d: string, seen: Set<string>) => {
    let real: string;
    try { const st = statSync(d); real = `${st.dev}:${st.ino}`; } catch { return; }
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    const files: string[] = [];
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDirectory(full))) visit(full, seen);
      else files.push(e.name);
    }
    folders.push([d, files.sort(compare)]);
  };
  visit(dir, new Set());
  folders.sort((a, b) => compare(a[0], b[0]));
  return folders.flatMap(([d, files]) => files.map((f) => path.join(d, f)));
}
