// Image files ↔ uint8 C×H×W tensors, through sharp (libvips): JPEG, PNG, WebP
// (and whatever else libvips reads: GIF, TIFF, AVIF...). EXIF orientation is
// applied on read. sharp works off the main thread, so these functions are async;
// the tensor work after each await runs synchronously, outside any caller's tidy().
// A plain JPEG (no EXIF turn, no ICC profile) skips sharp: libjpeg-turbo decodes
// it straight into the tensor (native/jpeg.cc), the same bytes in a quarter of the time.
import * as path from "node:path";
import sharp from "sharp";
import { FlareError } from "../errors.js";
import { fromTypedArray, tidy, Tensor } from "../tensor/index.js";
import { native } from "../tensor/native.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { FILE_LIMITS, readRegularFileAsync } from "../io/files.js";

/**
 * How to decode the channels (torchvision's ImageReadMode):
 * "unchanged" keeps the file's channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA);
 * "gray" gives 1 channel (ITU-R 601-2 luma, PIL's convert("L")); "rgb" 3; "rgba" 4.
 */
export type ImageReadMode = "unchanged" | "gray" | "rgb" | "rgba";
export type ImageFormat = "png" | "jpeg" | "webp";

export interface ReadImageOptions {
  mode?: ImageReadMode;
}

export interface EncodeImageOptions {
  /** JPEG / WebP quality, 1..100 (defaults: JPEG 75 as torchvision's encode_jpeg, WebP 80). */
  quality?: number;
  /** WebP only: lossless compression. */
  lossless?: boolean;
  /** PNG only: zlib level 0..9 (default 6). */
  compressionLevel?: number;
}

const MODES: readonly ImageReadMode[] = ["unchanged", "gray", "rgb", "rgba"];

function describe(source: string | Uint8Array): string {
  return typeof source === "string" ? source : `image buffer (${source.length} bytes)`;
}

/** What sharp said, as a sentence about the file. */
function formatProblem(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  if (/unsupported image format/i.test(message)) return "not an image in a format sharp can decode (JPEG, PNG, WebP, GIF, TIFF, AVIF)";
  if (/premature end|end of stream|truncated|unexpected end/i.test(message)) return `truncated or corrupt image data (${message})`;
  if (/is empty/i.test(message)) return "empty file";
  return `corrupt or unreadable image (${message})`;
}

/** Reads an image file (or decodes an encoded buffer) into a uint8 C×H×W tensor. */
export async function readImage(source: string | Uint8Array, options: ReadImageOptions = {}): Promise<Tensor> {
  if (typeof source === "string") {
    // A regular file of plausible size only: /dev/zero or a FIFO would never end.
    const bytes = await readRegularFileAsync(source, { maxBytes: FILE_LIMITS.image, what: "readImage()" });
    return decode(bytes, source, options);
  }
  if (!(source instanceof Uint8Array))
    throw new FlareError(`readImage(): expected a file path, Buffer or Uint8Array, got ${source === null ? "null" : typeof source}`, "E_ARGUMENT");
  return decode(source, undefined, options);
}

/** Decodes an encoded image (JPEG, PNG, WebP...) held in memory into a uint8 C×H×W tensor. */
export async function decodeImage(buffer: Uint8Array, options: ReadImageOptions = {}): Promise<Tensor> {
  return decode(buffer, undefined, options);
}

async function decode(input: Uint8Array, file: string | undefined, options: ReadImageOptions): Promise<Tensor> {
  const mode = options.mode ?? "unchanged";
  if (!MODES.includes(mode)) throw new FlareError(`readImage(): mode must be one of ${MODES.join(", ")}, got ${String(mode)}`, "E_ARGUMENT");
  if (!(input instanceof Uint8Array)) throw new FlareError(`decodeImage(): expected a file path, Buffer or Uint8Array, got ${input === null ? "null" : typeof input}`, "E_ARGUMENT");
  const name = file ?? describe(input);
  if (input.length === 0) throw new FlareError(`${name}: empty file, not an image`, "E_FORMAT");
  const buffer = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (mode !== "rgba") {
    const handle = native.decodeJpeg(buffer, mode === "rgb" ? 3 : mode === "gray" ? 1 : 0);
    if (handle !== undefined) return new Tensor(handle);
  }
  let data: Buffer, width: number, height: number, channels: number, grey: boolean;
  try {
    // Whether the file is greyscale matters only to "unchanged" and "gray" (a header read).
    grey = false;
    if (mode === "unchanged" || mode === "gray") {
      const meta = await sharp(buffer).metadata();
      grey = meta.space === "b-w" || meta.space === "grey16" || (meta.channels ?? 3) <= 2;
    }
    // sharp's raw output is sRGB (grey files come out as R = G = B), alpha kept.
    let pipeline = sharp(buffer, { failOn: "warning" }).rotate();
    if (mode === "rgb" || mode === "gray") pipeline = pipeline.removeAlpha();
    if (mode === "rgba") pipeline = pipeline.ensureAlpha();
    const result = await pipeline.toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    ({ data } = result);
    ({ width, height, channels } = result.info);
  } catch (error) {
    throw new FlareError(`${name}: ${formatProblem(error)}`, "E_FORMAT");
  }
  if (data.length !== width * height * channels)
    throw new FlareError(`${name}: decoder returned ${data.length} bytes for ${width}×${height}×${channels}`, "E_FORMAT");
  if (mode === "gray") {
    return tidy(() => fromTypedArray(grey ? pick(data, channels, [0]) : luma(data, channels), [1, height, width]));
  }
  if (mode === "unchanged" && grey) {
    const keep = channels === 4 ? [0, 3] : [0];
    return tidy(() => fromTypedArray(pick(data, channels, keep), [keep.length, height, width]));
  }
  return new Tensor(native.hwcToChw(data, height, width, channels));
}

/** The planes `keep` of interleaved pixels, as planar C×H×W bytes. */
function pick(data: Uint8Array, channels: number, keep: number[]): Uint8Array {
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels * keep.length);
  keep.forEach((c, k) => {
    const base = k * pixels;
    for (let i = 0, j = c; i < pixels; i++, j += channels) out[base + i] = data[j];
  });
  return out;
}

/** L = R·299/1000 + G·587/1000 + B·114/1000, PIL's fixed-point rounding. */
function luma(data: Uint8Array, channels: number): Uint8Array {
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += channels) {
    out[i] = (data[j] * 19595 + data[j + 1] * 38470 + data[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/**
 * The image as interleaved H×W×C bytes: uint8 C×H×W (or H×W) as it is, float
 * in [0, 1] scaled by 255 and rounded (torchvision's save_image), clamped.
 */
export function toInterleavedBytes(image: Tensor, what = "encodeImage()"): { data: Buffer; width: number; height: number; channels: number } {
  if (!image || typeof (image as Tensor).dim !== "function") throw new FlareError(`${what}: expected an image tensor, got ${typeof image}`, "E_ARGUMENT");
  const shape = image.shape;
  if (shape.length !== 2 && shape.length !== 3)
    throw new FlareError(`${what}: expected one image of shape C×H×W (or H×W), got shape [${shape.join(", ")}]${shape.length === 4 ? "; use makeGrid() or saveImage() for a batch" : ""}`, "E_SHAPE");
  const [channels, height, width] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (channels < 1 || channels > 4)
    throw new FlareError(`${what}: an image needs 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels, got ${channels} in shape [${shape.join(", ")}]`, "E_SHAPE");
  if (height === 0 || width === 0) throw new FlareError(`${what}: the image is empty (shape [${shape.join(", ")}])`, "E_SHAPE");
  const dtype = image.dtype;
  const floating = dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
  if (dtype !== "uint8" && !floating)
    throw new FlareError(`${what}: the image must be uint8 (0..255) or floating point (0..1), got ${dtype}`, "E_DTYPE");
  const bytes = tidy(() => {
    let t = image.detach().cpu();
    if (floating) t = t.float().mul(255).add(0.5).clamp(0, 255).to("uint8");
    if (shape.length === 2) t = t.unsqueeze(0);
    return t.permute(1, 2, 0).dataSync() as Uint8Array; // dataSync() copies out contiguously
  });
  return { data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), width, height, channels };
}

function checkFormat(format: string, what: string): ImageFormat {
  const f = format.toLowerCase();
  if (f === "png" || f === "webp") return f;
  if (f === "jpeg" || f === "jpg") return "jpeg";
  throw new FlareError(`${what}: format must be "png", "jpeg" or "webp", got ${JSON.stringify(format)}`, "E_ARGUMENT");
}

function checkQuality(quality: number | undefined, what: string): void {
  if (quality !== undefined && !(Number.isInteger(quality) && quality >= 1 && quality <= 100))
    throw new FlareError(`${what}: quality must be an integer in 1..100, got ${quality}`, "E_ARGUMENT");
}

/** Encodes a uint8 (or [0, 1] float) C×H×W image with 1–4 channels as PNG, JPEG or WebP. */
export async function encodeImage(image: Tensor, format: ImageFormat | "jpg", options: EncodeImageOptions = {}): Promise<Buffer> {
  const kind = checkFormat(String(format), "encodeImage()");
  checkQuality(options.quality, "encodeImage()");
  const { data, width, height, channels } = toInterleavedBytes(image);
  if (kind === "jpeg" && (channels === 2 || channels === 4))
    throw new FlareError(`encodeImage(): JPEG has no alpha channel; drop it (image.index("0:${channels - 1}")) or use PNG/WebP`, "E_ARGUMENT");
  try {
    let pipeline = sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
    // Keep grey images grey (sharp would otherwise write sRGB).
    if (channels <= 2) pipeline = pipeline.toColourspace("b-w");
    if (kind === "png") pipeline = pipeline.png({ compressionLevel: options.compressionLevel ?? 6 });
    else if (kind === "jpeg") pipeline = pipeline.jpeg({ quality: options.quality ?? 75 });
    else pipeline = pipeline.webp({ quality: options.quality ?? 80, lossless: options.lossless ?? false });
    return await pipeline.toBuffer();
  } catch (error) {
    throw new FlareError(`encodeImage(): sharp could not encode a ${width}×${height}×${channels} image as ${kind}: ${(error as Error).message}`, "E_FORMAT");
  }
}

const EXTENSIONS: Record<string, ImageFormat> = { ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp" };

/** The image format a file name's extension stands for. */
export function formatOfPath(file: string, what = "writeImage()"): ImageFormat {
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!format) throw new FlareError(`${what}: cannot tell the image format of ${file}: use a .png, .jpg, .jpeg or .webp name`, "E_ARGUMENT");
  return format;
}

/** Writes an image file (format from the extension), atomically. */
export async function writeImage(image: Tensor, file: string, options: EncodeImageOptions = {}): Promise<void> {
  const format = formatOfPath(file);
  const bytes = await encodeImage(image, format, options);
  writeFileAtomic(file, bytes);
}
