// Palette ("P" mode) PNGs, the format of Pascal VOC's SegmentationClass labels:
// one byte per pixel indexing a 256-colour palette (class k is colour k, 255 the
// (224, 224, 192) object border). sharp can only write palettes by quantising,
// so this writes the file itself: IHDR (8-bit, colour type 3), PLTE, IDAT, IEND.
import { deflateSync } from "node:zlib";
import { FlareError } from "../../errors.js";

/**
 * Pascal VOC's 256-colour palette (the devkit's labelcolormap: the bits of the
 * index spread over R, G and B from the top bit down). Entries 0..20 are
 * VOC_COLORMAP; 255 is (224, 224, 192).
 */
export function vocPalette(): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < 256; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 7; j >= 0; j--) {
      r |= (c & 1) << j; g |= ((c >> 1) & 1) << j; b |= ((c >> 2) & 1) << j;
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes a label map (one byte per pixel, row-major height×width) as a palette
 * PNG; `palette` (default VOC's) gives the colour of each index.
 */
export function encodePalettePng(indices: Uint8Array, width: number, height: number, palette: readonly (readonly number[])[] = vocPalette()): Buffer {
  const what = "encodePalettePng()";
  if (!(indices instanceof Uint8Array)) throw new FlareError(`${what}: indices must be a Uint8Array`, "E_ARGUMENT");
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new FlareError(`${what}: width and height must be positive integers, got ${width}×${height}`, "E_ARGUMENT");
  if (indices.length !== width * height) throw new FlareError(`${what}: ${indices.length} indices for a ${width}×${height} image`, "E_SHAPE");
  if (palette.length === 0 || palette.length > 256) throw new FlareError(`${what}: the palette needs 1..256 colours, got ${palette.length}`, "E_ARGUMENT");
  let top = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i] > top) top = indices[i];
  if (top >= palette.length) throw new FlareError(`${what}: index ${top} has no palette colour (the palette has ${palette.length})`, "E_ARGUMENT");
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 3, 0, 0, 0], 8); // bit depth 8, palette, deflate, adaptive filtering, no interlace
  const plte = new Uint8Array(palette.length * 3);
  palette.forEach((c, i) => plte.set([c[0], c[1], c[2]], 3 * i));
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1); // filter 0
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("PLTE", plte), chunk("IDAT", deflateSync(raw, { level: 6 })), chunk("IEND", new Uint8Array(0)),
  ]);
}
