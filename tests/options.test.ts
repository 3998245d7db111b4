// One mechanism for options and PyTorch's positional arguments: unknown names
// are FlareErrors with a suggestion, positions map onto PyTorch's order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkOptions, positionalOptions, suggestName, camelCase } from "../src/options.js";
import { assertFlareError } from "./helpers.js";

const SGD = ["lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"];

test("camelCase turns PyTorch's snake_case names into flare's", () => {
  assert.equal(camelCase("weight_decay"), "weightDecay");
  assert.equal(camelCase("num_batches_tracked"), "numBatchesTracked");
  assert.equal(camelCase("lr"), "lr");
});

test("suggestions: the camelCase form of a snake_case name, a case slip, a typo, nothing when far", () => {
  assert.equal(suggestName("weight_decay", SGD), "weightDecay");
  assert.equal(suggestName("WeightDecay", SGD), "weightDecay");
  assert.equal(suggestName("momentun", SGD), "momentum");
  assert.equal(suggestName("nestrov", SGD), "nesterov");
  assert.equal(suggestName("batchSize", SGD), undefined);
});

test("checkOptions accepts known names and rejects the rest, naming the function and the fix", () => {
  assert.deepEqual(checkOptions({ lr: 0.1, weightDecay: 1e-3 }, SGD, "new optim.SGD()"), { lr: 0.1, weightDecay: 1e-3 });
  assert.deepEqual(checkOptions(undefined, SGD, "x"), {});
  assertFlareError(() => checkOptions({ lr: 0.1, weight_decay: 1e-3 }, SGD, "new optim.SGD()"),
    /^new optim\.SGD\(\): unknown option "weight_decay" \(did you mean "weightDecay"\?\); it takes "lr", "momentum"/, "E_ARGUMENT");
  assertFlareError(() => checkOptions({ pretrained: true }, ["weights"], "models.resnet18()"),
    /^models\.resnet18\(\): unknown option "pretrained"; it takes "weights"$/);
  assertFlareError(() => checkOptions({ a: 1 }, [], "f()"), /^f\(\): unknown option "a"; it takes no options$/);
  assertFlareError(() => checkOptions([1] as never, SGD, "f()"), /^f\(\): options must be a plain object, got an array$/);
  assertFlareError(() => checkOptions(new Map() as never, SGD, "f()"), /^f\(\): options must be a plain object, got a Map$/);
  // Inherited names are not options: only own keys count, and __proto__ is not special.
  assertFlareError(() => checkOptions(JSON.parse('{"__proto__": {"lr": 1}}'), SGD, "f()"), /unknown option "__proto__"/);
});

test("positionalOptions maps PyTorch's positions, merges an options object, refuses ambiguity", () => {
  const names = ["stride", "padding", "dilation", "returnIndices", "ceilMode"];
  assert.deepEqual(positionalOptions([2], names, names, "nn.MaxPool2d()"), { stride: 2 });
  assert.deepEqual(positionalOptions([2, 1, { ceilMode: true }], names, names, "nn.MaxPool2d()"), { stride: 2, padding: 1, ceilMode: true });
  assert.deepEqual(positionalOptions([{ padding: 1 }], names, names, "nn.MaxPool2d()"), { padding: 1 });
  assert.deepEqual(positionalOptions([], names, names, "nn.MaxPool2d()"), {});
  assert.deepEqual(positionalOptions([undefined, 1], names, names, "nn.MaxPool2d()"), { padding: 1 });
  assertFlareError(() => positionalOptions([2, { stride: 3 }], names, names, "nn.MaxPool2d()"), /^nn\.MaxPool2d\(\): "stride" given both by position and in the options$/);
  assertFlareError(() => positionalOptions([1, 2, 3, false, false, 9], names, names, "nn.MaxPool2d()"),
    /^nn\.MaxPool2d\(\): takes at most 5 optional arguments by position \(stride, padding, dilation, returnIndices, ceilMode\), got 6/);
  assertFlareError(() => positionalOptions([{ stide: 2 }], names, names, "nn.MaxPool2d()"), /unknown option "stide" \(did you mean "stride"\?\)/);
});
