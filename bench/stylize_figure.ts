// The README's style-transfer picture: content, style (both as the loop sees
// them: resized to the result's size) and a `flare stylize` result side by side.
// Usage (from the repository root, after the run the README shows):
//   node dist/src/cli/bin.js stylize --content assets/images/chelsea.jpg --style assets/images/coffee.jpg \
//     --out /tmp/cat-coffee.png --curves docs/style-losses.svg
//   node dist/bench/stylize_figure.js /tmp/cat-coffee.png [--content assets/images/chelsea.jpg] [--style assets/images/coffee.jpg] [--out docs/style-transfer.jpg]
import * as torch from "../src/index.js";
import { readImage, style, utils } from "../src/vision/index.js";

const arg = (name: string, fallback: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : fallback; };
const resultFile = process.argv[2];
if (!resultFile || resultFile.startsWith("--")) throw new Error("usage: node dist/bench/stylize_figure.js RESULT.png [--content C] [--style S] [--out docs/style-transfer.jpg]");
const result = await readImage(resultFile, { mode: "rgb" });
const size: [number, number] = [result.shape[1], result.shape[2]];
// preprocess then postprocess: the same antialiased resize and ⌊255·v⌋ rounding as the loop's view of the inputs.
const asLoopSees = async (file: string) => {
  const img = await readImage(file, { mode: "rgb" });
  const x = style.preprocess(img, size);
  const out = style.postprocess(x);
  torch.dispose([img, x]);
  return out;
};
const content = await asLoopSees(arg("content", "assets/images/chelsea.jpg"));
const styleImg = await asLoopSees(arg("style", "assets/images/coffee.jpg"));
const out = arg("out", "docs/style-transfer.jpg");
await utils.saveImage([content, styleImg, result], out, { nrow: 3, padding: 4, padValue: 255, quality: 88 });
torch.dispose([content, styleImg, result]);
console.log(JSON.stringify({ wrote: out, size }));
