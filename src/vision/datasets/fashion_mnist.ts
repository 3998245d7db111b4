// Fashion-MNIST from its IDX files (gzipped or not), as Debian's
// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist.
import { existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import * as path from "node:path";
import { FlareError } from "../../errors.js";
import { FILE_LIMITS, readRegularFile } from "../../io/files.js";
import { fromTypedArray, type Tensor } from "../../tensor/index.js";
import { checkOptions } from "../../options.js";

export const FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist";
export const FASHION_MNIST_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

/** Reads an IDX file: the magic (0x0000, type 0x08 = uint8, rank) and big-endian sizes, then the data. */
export function readIdx(file: string): { shape: number[]; data: Uint8Array } {
  let bytes = readRegularFile(file, { maxBytes: FILE_LIMITS.idx, what: "readIdx()", role: "IDX" });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    // Bounded: a small gzip bomb must not inflate past the reader's limit.
    try { bytes = gunzipSync(bytes, { maxOutputLength: FILE_LIMITS.idx }); } catch (error) {
      throw new FlareError(`readIdx(): ${file}: not a valid gzip file or larger than ${FILE_LIMITS.idx} bytes unpacked (${(error as Error).message})`, "E_FORMAT");
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new FlareError(`${file}: not an IDX file (bad magic number)`, "E_FORMAT");
  if (bytes[2] !== 0x08) throw new FlareError(`${file}: IDX element type 0x${bytes[2].toString(16)} is not uint8`, "E_FORMAT");
  const rank = bytes[3];
  if (bytes.length < 4 + 4 * rank) throw new FlareError(`${file}: truncated IDX header`, "E_FORMAT");
  const shape = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length - start !== count) throw new FlareError(`${file}: IDX data has ${bytes.length - start} bytes, the header says ${count}`, "E_FORMAT");
  return { shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, count) };
}

function find(root: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const file = path.join(root, name);
    if (existsSync(file)) return file;
  }
  throw new FlareError(`Fashion-MNIST: ${stem}(.gz) not found in ${root} (install Debian's dataset-fashion-mnist or pass root)`, "E_IO");
}

/** The images (uint8, N×1×28×28) and labels (int64, N) of the train or test split. */
export function loadFashionMnist(options: { root?: string; train?: boolean } = {}): { images: Tensor; labels: Tensor } {
  checkOptions(options, ["root", "train"], "loadFashionMnist()");
  const root = options.root ?? FASHION_MNIST_ROOT;
  const split = options.train ?? true ? "train" : "t10k";
  const images = readIdx(find(root, `${split}-images-idx3-ubyte`));
  const labels = readIdx(find(root, `${split}-labels-idx1-ubyte`));
  if (images.shape.length !== 3 || labels.shape.length !== 1 || images.shape[0] !== labels.shape[0])
    throw new FlareError(`Fashion-MNIST in ${root}: ${images.shape[0]} images but ${labels.shape[0]} labels`, "E_FORMAT");
  return {
    images: fromTypedArray(images.data, [images.shape[0], 1, images.shape[1], images.shape[2]]),
    labels: fromTypedArray(labels.data, [labels.shape[0]], { dtype: "int64" }),
  };
}
