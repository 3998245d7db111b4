// flare/vision io: readImage / decodeImage / encodeImage / writeImage through sharp,
// on files the tests write: round trips, modes, EXIF orientation, bad files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import * as torch from "../src/index.js";
import { readImage, decodeImage, encodeImage, writeImage } from "../src/vision/io.js";
import { native } from "../src/tensor/native.js";
import { assertClose, ROOT } from "./helpers.js";

let dir = "";
before(() => { dir = mkdtempSync(path.join(tmpdir(), "flare-io-")); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

/** A smooth uint8 C×H×W test image (gradients compress well in JPEG). */
function gradient(channels: number, height: number, width: number): torch.Tensor {
  return torch.tidy(() => {
    const y = torch.arange(height).view(1, height, 1).float().mul(200 / height);
    const x = torch.arange(width).view(1, 1, width).float().mul(200 / width);
    const c = torch.arange(channels).view(channels, 1, 1).float().mul(20);
    return y.add(x.mul(0.5)).add(c).clamp(0, 255).to("uint8");
  });
}

function meanAbsDiff(a: torch.Tensor, b: torch.Tensor): number {
  return torch.tidy(() => a.float().sub(b.float()).abs().mean().item() as number);
}

async function rejectsFlare(promise: Promise<unknown>, pattern: RegExp, code: string): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.name, "FlareError", `expected a FlareError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.code, code);
    return true;
  });
}

test("PNG round trips exactly: RGB, RGBA, grey, grey+alpha; 'unchanged' keeps the channels", async () => {
  for (const channels of [3, 4, 1, 2]) {
    const image = torch.randint(0, 256, [channels, 13, 17], { dtype: "uint8" });
    const file = path.join(dir, `rt${channels}.png`);
    await writeImage(image, file);
    const back = await readImage(file);
    assert.equal(back.dtype, "uint8");
    assert.deepEqual(back.shape, [channels, 13, 17]);
    assertClose(back, image, { atol: 0, what: `${channels}-channel PNG` });
    torch.dispose([image, back]);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "no temporary files left");
});

test("JPEG and WebP round trips: lossy close, lossless WebP exact; buffers decode too", async () => {
  const image = gradient(3, 40, 56);
  const jpeg = await encodeImage(image, "jpeg", { quality: 95 });
  assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  const fromJpeg = await decodeImage(jpeg);
  assert.deepEqual(fromJpeg.shape, [3, 40, 56]);
  assert.ok(meanAbsDiff(fromJpeg, image) < 2, `JPEG q95 error ${meanAbsDiff(fromJpeg, image)}`);
  const low = await decodeImage(await encodeImage(image, "jpg", { quality: 10 }));
  assert.ok(meanAbsDiff(low, image) > meanAbsDiff(fromJpeg, image), "quality changes the result");

  const lossless = await encodeImage(image, "webp", { lossless: true });
  assert.equal(lossless.subarray(8, 12).toString("latin1"), "WEBP");
  assertClose(await readImage(lossless), image, { atol: 0, what: "lossless WebP" });
  const lossy = await readImage(new Uint8Array(await encodeImage(image, "webp", { quality: 90 })));
  assert.ok(meanAbsDiff(lossy, image) < 3, `WebP q90 error ${meanAbsDiff(lossy, image)}`);

  const file = path.join(dir, "photo.jpeg");
  await writeImage(image, file, { quality: 95 });
  assert.ok(meanAbsDiff(await readImage(file), image) < 2);
  await writeImage(image, path.join(dir, "photo.webp"));
  assert.deepEqual((await readImage(path.join(dir, "photo.webp"))).shape, [3, 40, 56]);
});

test("modes: gray (PIL's luma), rgb (drops alpha, expands grey), rgba (opaque alpha added)", async () => {
  const rgba = torch.tensor([[[200, 10]], [[100, 20]], [[50, 30]], [[128, 255]]], { dtype: "uint8" }); // 4×1×2
  const file = path.join(dir, "modes.png");
  await writeImage(rgba, file);
  const gray = await readImage(file, { mode: "gray" });
  assert.deepEqual(gray.shape, [1, 1, 2]);
  // PIL convert("L"): (R·19595 + G·38470 + B·7471 + 32768) >> 16
  const luma = (r: number, g: number, b: number) => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
  assert.deepEqual(gray.flatten().tolist(), [luma(200, 100, 50), luma(10, 20, 30)]);
  const rgb = await readImage(file, { mode: "rgb" });
  assert.deepEqual(rgb.tolist(), [[[200, 10]], [[100, 20]], [[50, 30]]]);
  assert.deepEqual((await readImage(file, { mode: "rgba" })).tolist(), rgba.tolist());

  const grey = torch.tensor([[[0, 60, 255]]], { dtype: "uint8" });
  const greyFile = path.join(dir, "grey.png");
  await writeImage(grey, greyFile);
  assert.deepEqual((await readImage(greyFile, { mode: "rgb" })).tolist(), [[[0, 60, 255]], [[0, 60, 255]], [[0, 60, 255]]]);
  assert.deepEqual((await readImage(greyFile, { mode: "rgba" })).index(3).tolist(), [[255, 255, 255]]);
  assert.deepEqual((await readImage(greyFile, { mode: "gray" })).tolist(), [[[0, 60, 255]]]);
  await rejectsFlare(readImage(greyFile, { mode: "grey" as never }), /mode must be one of/, "E_ARGUMENT");
});

test("float images in [0, 1] are scaled, rounded and clamped like torchvision's save_image", async () => {
  const image = torch.tensor([[[0, 0.5, 1, 1.7, -0.2, 0.2]]]);
  const back = await decodeImage(await encodeImage(image, "png"));
  assert.deepEqual(back.tolist(), [[[0, 128, 255, 255, 0, 51]]]);
  const hw = await decodeImage(await encodeImage(torch.full([2, 3], 0.25, { dtype: "float64" }), "png"));
  assert.deepEqual(hw.shape, [1, 2, 3], "an H×W image is grey");
  assert.deepEqual(hw.flatten().tolist(), [64, 64, 64, 64, 64, 64]);
});

test("EXIF orientation is applied (orientation 6: rotate 90° clockwise)", async () => {
  // 32 wide × 16 tall: the left half red, the right half blue.
  const pixels = Buffer.alloc(32 * 16 * 3);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) pixels.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * 32 + x) * 3);
  const file = path.join(dir, "rotated.jpg");
  writeFileSync(file, await sharp(pixels, { raw: { width: 32, height: 16, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
  assert.equal((await sharp(file).metadata()).orientation, 6);
  const image = await readImage(file);
  assert.deepEqual(image.shape, [3, 32, 16], "upright: 16 wide, 32 tall");
  // after a clockwise quarter turn the red (left) half is on top
  const top = image.index(":", "2:14", ":").float().mean([1, 2]).tolist() as number[];
  const bottom = image.index(":", "18:30", ":").float().mean([1, 2]).tolist() as number[];
  assert.ok(top[0] > 200 && top[2] < 50, `top is red: ${top}`);
  assert.ok(bottom[2] > 200 && bottom[0] < 50, `bottom is blue: ${bottom}`);
});

/** What sharp's path in io.ts gives for a JPEG: sRGB bytes, EXIF turn applied, as C×H×W ("channel 0" of a grey file for 1 channel). */
async function sharpDecode(bytes: Buffer, channels: 1 | 3): Promise<torch.Tensor> {
  const { data, info } = await sharp(bytes, { failOn: "warning" }).rotate().removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  return torch.tidy(() => {
    const hwc = torch.tensor(Array.from(data), { dtype: "uint8" }).view(info.height, info.width, info.channels);
    return hwc.permute(2, 0, 1).narrow(0, 0, channels).contiguous();
  });
}

test("plain JPEGs skip sharp (libjpeg-turbo straight into the tensor) and give sharp's bytes exactly; the others go to sharp", async () => {
  const photo = readFileSync(path.join(ROOT, "assets", "images", "coffee.jpg"));
  const cases: [string, Buffer][] = [];
  for (const [w, h] of [[500, 375], [33, 21], [1, 1]])
    for (const chromaSubsampling of ["4:2:0", "4:4:4"]) for (const progressive of [false, true])
      cases.push([`${w}x${h} ${chromaSubsampling}${progressive ? " progressive" : ""}`, await sharp(photo).resize(w, h, { fit: "fill" }).jpeg({ quality: 85, chromaSubsampling, progressive }).toBuffer()]);
  for (const name of ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "grass.jpg", "gravel.jpg"]) cases.push([name, readFileSync(path.join(ROOT, "assets", "images", name))]);
  for (const [name, bytes] of cases) {
    const handle = native.decodeJpeg(bytes, 3);
    assert.notEqual(handle, undefined, `${name} is a plain JPEG`);
    const fast = new torch.Tensor(handle!);
    const reference = await sharpDecode(bytes, 3);
    assert.deepEqual(fast.shape, reference.shape, name);
    assert.equal(fast.int().sub(reference.int()).abs().max().item(), 0, `${name}: the same bytes as sharp's`);
    fast.dispose(); reference.dispose();
  }
  // A grey JPEG: 1 channel unchanged and in "gray" mode, replicated in "rgb"; all equal to sharp's grey.
  const grey = readFileSync(path.join(ROOT, "assets", "images", "brick.jpg"));
  const greyReference = await sharpDecode(grey, 1);
  for (const mode of ["unchanged", "gray"] as const) {
    const image = await decodeImage(grey, { mode });
    assert.deepEqual(image.shape, [1, 256, 256]);
    assert.equal(image.int().sub(greyReference.int()).abs().max().item(), 0, `grey JPEG, mode ${mode}`);
  }
  const rgb = await decodeImage(grey, { mode: "rgb" });
  assert.equal(rgb.int().sub(greyReference.int()).abs().max().item(), 0, "grey JPEG as rgb: the grey in each channel");
  // Colour files in "gray" mode keep PIL's luma (sharp's path): the native decoder declines them.
  assert.equal(native.decodeJpeg(photo, 1), undefined);
  // Not plain: an EXIF turn, an ICC profile, CMYK, a truncated stream, not a JPEG at all.
  const small = await sharp(photo).resize(40, 30).jpeg().toBuffer();
  const declined: [string, Buffer][] = [
    ["EXIF orientation 6", await sharp(small).withMetadata({ orientation: 6 }).jpeg().toBuffer()],
    ["an ICC profile", await sharp(small).withMetadata({ icc: "p3" }).jpeg().toBuffer()],
    ["CMYK", await sharp(small).toColourspace("cmyk").jpeg().toBuffer()],
    ["truncated", small.subarray(0, Math.floor(small.length / 2))],
    ["a PNG", await sharp(small).png().toBuffer()],
  ];
  for (const [what, bytes] of declined) assert.equal(native.decodeJpeg(bytes, 0), undefined, `${what}: left to sharp`);
  // ... and sharp decodes them as before: the turn applied, CMYK converted.
  assert.deepEqual((await decodeImage(declined[0][1])).shape, [3, 40, 30]);
  assert.deepEqual((await decodeImage(declined[2][1], { mode: "rgb" })).shape, [3, 30, 40]);
  assert.throws(() => native.decodeJpeg("x" as never, 3), /decodeJpeg: expected/);
  assert.throws(() => native.decodeJpeg(small, 2 as never), /channels must be 0, 1 or 3/);
});

test("damaged JPEGs never crash the native decoder: each decodes or is left to sharp, which decodes it or says what is wrong", async () => {
  const photo = readFileSync(path.join(ROOT, "assets", "images", "coffee.jpg"));
  const sources = [await sharp(photo).resize(48, 32).jpeg({ quality: 80 }).toBuffer(), await sharp(photo).resize(48, 32).jpeg({ quality: 80, progressive: true }).toBuffer()];
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let declined = 0;
  for (let i = 0; i < 600; i++) {
    const bytes = Buffer.from(sources[i % 2]);
    let damaged: Buffer = bytes;
    if (i % 3 === 0) for (let k = 0; k < 1 + random() * 8; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    else if (i % 3 === 1) damaged = bytes.subarray(0, Math.floor(random() * bytes.length));
    else { const at = Math.floor(random() * bytes.length); damaged = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, Math.floor(random() * 256)]), bytes.subarray(at)]); }
    const handle = native.decodeJpeg(damaged, ([0, 1, 3] as const)[i % 3]);
    if (handle === undefined) declined++;
    else new torch.Tensor(handle).dispose();
    if (i % 50 === 0) {
      // Through decodeImage: a tensor, or sharp's FlareError naming the fault.
      try { (await decodeImage(damaged, { mode: "rgb" })).dispose(); } catch (error) { assert.equal((error as Error).name, "FlareError"); }
    }
  }
  assert.ok(declined > 100 && declined < 600, `some damaged files are refused, some still decode: ${declined} of 600 refused`);
});

test("the bundled assets read with their sizes and channels", async () => {
  const cat = await readImage(path.join(ROOT, "assets", "images", "chelsea.jpg"));
  assert.deepEqual(cat.shape, [3, 300, 451]);
  const brick = await readImage(path.join(ROOT, "assets", "images", "brick.jpg"));
  assert.deepEqual(brick.shape, [1, 256, 256], "a greyscale JPEG stays 1-channel");
  assert.deepEqual((await readImage(path.join(ROOT, "assets", "images", "brick.jpg"), { mode: "rgb" })).shape, [3, 256, 256]);
  const license = readFileSync(path.join(ROOT, "assets", "images", "LICENSE.md"), "utf8");
  for (const name of ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "brick.jpg", "grass.jpg", "gravel.jpg"]) {
    assert.ok(existsSync(path.join(ROOT, "assets", "images", name)), name);
    assert.ok(license.includes(name), `LICENSE.md covers ${name}`);
  }
});

test("bad files: truncated, corrupt, random bytes, empty → E_FORMAT naming the file; missing → E_IO", async () => {
  const jpeg = await encodeImage(gradient(3, 64, 64), "jpeg");
  const truncated = path.join(dir, "truncated.jpg");
  writeFileSync(truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await rejectsFlare(readImage(truncated), new RegExp(`${truncated.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: truncated or corrupt`), "E_FORMAT");

  const png = await encodeImage(gradient(3, 64, 64), "png");
  const cut = path.join(dir, "cut.png");
  writeFileSync(cut, png.subarray(0, png.length - 40));
  await rejectsFlare(readImage(cut), /cut\.png: /, "E_FORMAT");
  const corrupt = path.join(dir, "corrupt.png");
  const damaged = Buffer.from(png);
  for (let i = 60; i < 90; i++) damaged[i] ^= 0x5a;
  writeFileSync(corrupt, damaged);
  await rejectsFlare(readImage(corrupt), /corrupt\.png: /, "E_FORMAT");

  const random = path.join(dir, "random.jpg");
  let seed = 7;
  writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff)));
  await rejectsFlare(readImage(random), /random\.jpg: not an image in a format sharp can decode/, "E_FORMAT");
  const empty = path.join(dir, "empty.png");
  writeFileSync(empty, "");
  await rejectsFlare(readImage(empty), /empty\.png: empty file/, "E_FORMAT");

  await rejectsFlare(readImage(path.join(dir, "missing.png")), /could not read .*missing\.png: no such file/, "E_IO");
  mkdirSync(path.join(dir, "folder.png"));
  await rejectsFlare(readImage(path.join(dir, "folder.png")), /folder\.png: is a directory/, "E_IO");
  await rejectsFlare(decodeImage(Buffer.from("hello")), /image buffer \(5 bytes\): not an image/, "E_FORMAT");
  await rejectsFlare(readImage(null as never), /expected a file path, Buffer or Uint8Array, got null/, "E_ARGUMENT");
  // still alive, and decoding still works
  assert.deepEqual((await decodeImage(png)).shape, [3, 64, 64]);
});

test("encodeImage / writeImage: bad tensors, formats and options", async () => {
  const image = torch.zeros([3, 4, 4], { dtype: "uint8" });
  await rejectsFlare(encodeImage(torch.zeros([2, 3, 4, 4], { dtype: "uint8" }), "png"), /C×H×W.*makeGrid/, "E_SHAPE");
  await rejectsFlare(encodeImage(torch.zeros([5, 4, 4], { dtype: "uint8" }), "png"), /1 \(grey\).*got 5/, "E_SHAPE");
  await rejectsFlare(encodeImage(torch.zeros([3, 4, 4], { dtype: "int64" }), "png"), /uint8 \(0\.\.255\) or floating point.*int64/, "E_DTYPE");
  await rejectsFlare(encodeImage(torch.zeros([3, 0, 4], { dtype: "uint8" }), "png"), /empty/, "E_SHAPE");
  await rejectsFlare(encodeImage(torch.zeros([4, 4, 4], { dtype: "uint8" }), "jpeg"), /JPEG has no alpha/, "E_ARGUMENT");
  await rejectsFlare(encodeImage(image, "gif" as never), /format must be/, "E_ARGUMENT");
  await rejectsFlare(encodeImage(image, "jpeg", { quality: 0 }), /quality/, "E_ARGUMENT");
  await rejectsFlare(writeImage(image, path.join(dir, "image.tiff")), /cannot tell the image format/, "E_ARGUMENT");
  await rejectsFlare(writeImage(image, path.join(dir, "no-such-dir", "x.png")), /could not write/, "E_IO");
});
