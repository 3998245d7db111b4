// Bad arguments to the memory scopes, the RNG state and torch.tensor's nesting
// are FlareErrors (not TypeErrors, stack overflows, or a later crash).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { assertFlareError } from "./helpers.js";

test("tidy(async fn) throws a FlareError and the abandoned function's rejection is not unhandled", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => { unhandled.push(reason); };
  process.on("unhandledRejection", onUnhandled);
  try {
    const x = torch.ones([2]);
    assertFlareError(() => torch.tidy((async () => {
      const y = torch.ones([2]).add(1);
      await new Promise((r) => setTimeout(r, 5));
      return y.add(x);  // y was freed by tidy(): this rejects
    }) as never), /tidy\(\) needs a synchronous function/, "E_ARGUMENT");
    assertFlareError(() => torch.tidy((async () => { throw new Error("late"); }) as never), /synchronous/);
    await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, [], "no unhandled rejection");
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("tidy and keep of something that is not a function / tensor are FlareErrors", () => {
  assertFlareError(() => torch.tidy(5 as never), /tidy\(fn\): fn must be a function, got number/, "E_TYPE");
  assertFlareError(() => torch.tidy(null as never), /fn must be a function, got null/, "E_TYPE");
  assertFlareError(() => torch.keep(5 as never), /keep\(tensor\): tensor must be a Tensor, got number/, "E_TYPE");
  assertFlareError(() => torch.keep({} as never), /keep\(tensor\): tensor must be a Tensor/, "E_TYPE");
});

test("setRngState of something that is not getRngState()'s tensor is a FlareError", () => {
  assertFlareError(() => torch.setRngState(null as never), /setRngState\(state\): state must be the uint8 Tensor/, "E_TYPE");
  assertFlareError(() => torch.setRngState(torch.zeros([3])), /RNG state must be a torch\.ByteTensor/);
  const state = torch.getRngState();
  const a = torch.rand([3]).tolist();
  torch.setRngState(state);
  assert.deepEqual(torch.rand([3]).tolist(), a);
});

test("torch.tensor of a cyclic or too deeply nested array is a FlareError, not a stack overflow", () => {
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assertFlareError(() => torch.tensor(cyclic), /contains itself/);
  const pair: unknown[] = [1, 2];
  const outer = [pair, [3, pair]];
  (pair as unknown[])[1] = outer;
  assertFlareError(() => torch.tensor(outer), /contains itself|ragged/);
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assertFlareError(() => torch.tensor(deep), /nested more than 64 deep/, "E_SHAPE");
  let ok: unknown = 1;
  for (let i = 0; i < 10; i++) ok = [ok];
  assert.deepEqual(torch.tensor(ok).shape, Array(10).fill(1));
  const shared = [1, 2];
  assert.deepEqual(torch.tensor([shared, shared]).tolist(), [[1, 2], [1, 2]], "a repeated (not cyclic) row is fine");
});
