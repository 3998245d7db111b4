// The one validation module (src/validate.ts): how values are described, the
// error factory, and the E_TYPE (wrong kind) / E_ARGUMENT (wrong value) rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { describe, invalidParameterError, intArg, numberArg, boolArg, oneOf, pairArg, probabilityArg } from "../src/validate.js";
import { checkOptions, optionNames } from "../src/options.js";
import { assertFlareError } from "./helpers.js";

test("describe names a value's kind, and its value when it is a primitive", () => {
  assert.equal(describe(null), "null");
  assert.equal(describe(undefined), "undefined");
  assert.equal(describe([1]), "an array");
  assert.equal(describe(torch.zeros([1])), "Tensor");
  assert.equal(describe(new Map()), "Map");
  assert.equal(describe(Object.create(null)), "an object");
  assert.equal(describe("none"), "string none");
  assert.equal(describe(3), "number 3");
});

test("invalidParameterError: name, what would do, what came; E_ARGUMENT unless told", () => {
  const e = invalidParameterError("Conv2d(): stride", "a positive integer", "2");
  assert.equal(e.name, "FlareError");
  assert.equal(e.message, "Conv2d(): stride must be a positive integer, got string 2");
  assert.equal(e.code, "E_ARGUMENT");
  assert.equal(invalidParameterError("x", "a Tensor", 1, "E_TYPE").code, "E_TYPE");
});

test("the wrong kind is E_TYPE, the right kind with a wrong value is E_ARGUMENT", () => {
  assertFlareError(() => intArg("3", "f(): n"), /^f\(\): n must be an integer, got string 3$/, "E_TYPE");
  assertFlareError(() => intArg(1.5, "f(): n"), /^f\(\): n must be an integer, got number 1\.5$/, "E_ARGUMENT");
  assertFlareError(() => intArg(0, "f(): n", 1), /^f\(\): n must be positive, got 0$/, "E_ARGUMENT");
  assertFlareError(() => numberArg(null, "f(): x"), /must be a number, got null/, "E_TYPE");
  assertFlareError(() => numberArg(NaN, "f(): x"), /must be a number, got number NaN/, "E_ARGUMENT");
  assertFlareError(() => boolArg(1, "f(): b"), /^f\(\): b must be true or false, got number 1$/, "E_TYPE");
  assertFlareError(() => oneOf("max", ["mean", "sum"] as const, "f(): r"), /^f\(\): r must be one of "mean", "sum", got "max"$/, "E_ARGUMENT");
  assertFlareError(() => oneOf(1, ["mean", "sum"] as const, "f(): r"), /got number 1$/, "E_TYPE");
  assertFlareError(() => pairArg([1, 2, 3], "f(): k"), /^f\(\): k must be an integer or 2 integers, got \[1, 2, 3\]$/, "E_ARGUMENT");
  assertFlareError(() => pairArg({}, "f(): k"), /must be an integer or an array of 2 integers, got Object$/, "E_TYPE");
  assertFlareError(() => probabilityArg(2, "f(): p"), /must be a probability between 0 and 1, got number 2$/, "E_ARGUMENT");
  assertFlareError(() => checkOptions([] as never, ["a"], "f()"), /^f\(\): options must be a plain object, got an array$/, "E_TYPE");
  assert.deepEqual(pairArg(3, "k"), [3, 3]);
});

test("optionNames lists an interface's option names (the compiler keeps the list complete)", () => {
  interface O { a?: number; bB?: string }
  assert.deepEqual(optionNames<O>({ a: 1, bB: 1 }), ["a", "bB"]);
  // @ts-expect-error: a name missing from the list is a type error
  optionNames<O>({ a: 1 });
  // @ts-expect-error: a name not in the interface is a type error
  optionNames<O>({ a: 1, bB: 1, c: 1 });
});
