// The nn layer's own behaviour: the module tree and its PyTorch names, state
// dicts, modes, gradients, dtype moves, containers, memory, dropout
// statistics and clear errors. Expected names and reprs are PyTorch 1.13's
// output for the same model (see the comments).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import * as nn from "../src/nn/index.js";
import * as F from "../src/nn/functional.js";
import { assertClose, assertFlareError, settledTensors } from "./helpers.js";

// torchvision's BasicBlock, shrunk.
class Block extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu = new nn.ReLU();
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null;
  constructor(cin: number, cout: number, stride = 1) {
    super();
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(cout);
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(cout);
    this.downsample = stride !== 1 || cin !== cout
      ? new nn.Sequential(new nn.Conv2d(cin, cout, 1, { stride, bias: false }), new nn.BatchNorm2d(cout)) : null;
  }
  override forward(x: torch.Tensor): torch.Tensor {
    const identity = this.downsample ? this.downsample.forward(x) : x;
    const out = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))));
    return this.relu.forward(out.add(identity));
  }
}

class Net extends nn.Module {
  conv1 = new nn.Conv2d(3, 4, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(4);
  layer1 = new nn.Sequential(new Block(4, 4), new Block(4, 8, 2));
  pool = new nn.AdaptiveAvgPool2d(1);
  fc = new nn.Linear(8, 2);
  override forward(x: torch.Tensor): torch.Tensor {
    return this.fc.forward(this.pool.forward(this.layer1.forward(this.bn1.forward(this.conv1.forward(x)))).flatten(1));
  }
}

// list(Net().state_dict().keys()) in PyTorch 1.13
const BN = (p: string) => [`${p}.weight`, `${p}.bias`, `${p}.running_mean`, `${p}.running_var`, `${p}.num_batches_tracked`];
const STATE_KEYS = [
  "conv1.weight", ...BN("bn1"),
  "layer1.0.conv1.weight", ...BN("layer1.0.bn1"), "layer1.0.conv2.weight", ...BN("layer1.0.bn2"),
  "layer1.1.conv1.weight", ...BN("layer1.1.bn1"), "layer1.1.conv2.weight", ...BN("layer1.1.bn2"),
  "layer1.1.downsample.0.weight", ...BN("layer1.1.downsample.1"),
  "fc.weight", "fc.bias",
];
const PARAM_KEYS = STATE_KEYS.filter((k) => !/running_|num_batches/.test(k));
const BUFFER_KEYS = STATE_KEYS.filter((k) => /running_|num_batches/.test(k));
const MODULE_NAMES = ["", "conv1", "bn1", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2",
  "layer1.0.bn2", "layer1.1", "layer1.1.conv1", "layer1.1.bn1", "layer1.1.relu", "layer1.1.conv2", "layer1.1.bn2",
  "layer1.1.downsample", "layer1.1.downsample.0", "layer1.1.downsample.1", "pool", "fc"];

test("module tree: PyTorch's dotted names for parameters, buffers, modules and children", () => {
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([k]) => k), PARAM_KEYS);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), BUFFER_KEYS);
  assert.deepEqual(net.namedModules().map(([k]) => k), MODULE_NAMES);
  assert.deepEqual(net.namedChildren().map(([k]) => k), ["conv1", "bn1", "layer1", "pool", "fc"]);
  assert.equal(net.parameters().length, PARAM_KEYS.length);
  assert.ok(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad && p.isLeaf));
  assert.equal(net.children()[2], net.layer1);
  assert.equal(net.modules()[0], net);
  assert.deepEqual(net.namedParameters({ prefix: "model" })[0][0], "model.conv1.weight");
  assert.deepEqual(net.namedParameters({ recurse: false }), []);
  assert.deepEqual(net.fc.namedParameters().map(([k]) => k), ["weight", "bias"]);
  assert.equal(net.getSubmodule("layer1.1.downsample.0"), (net.layer1.get(1) as Block).downsample!.get(0));
  assertFlareError(() => net.getSubmodule("layer1.7"), /no submodule "7"/);
  net.dispose();
});

test("stateDict: PyTorch's keys and order, detached values sharing storage, keepVars", () => torch.tidy(() => {
  const net = new Net();
  const sd = net.stateDict();
  assert.deepEqual([...sd.keys()], STATE_KEYS);
  const w = sd.get("fc.weight")!;
  assert.equal(w.requiresGrad, false);
  assert.notEqual(w, net.fc.weight);
  w.fill_(0.5);  // shares storage, as PyTorch's state_dict
  assert.equal(net.fc.weight.sum().item(), 0.5 * 16);
  assert.equal(sd.get("bn1.num_batches_tracked")!.dtype, "int64");
  assert.deepEqual(sd.get("bn1.num_batches_tracked")!.shape, []);
  const vars = net.stateDict({ keepVars: true });
  assert.equal(vars.get("fc.weight"), net.fc.weight);
  assert.equal(vars.get("bn1.running_mean"), net.bn1.runningMean);
  assert.deepEqual([...net.stateDict({ prefix: "m." }).keys()][0], "m.conv1.weight");
  net.dispose();
}));

test("module repr is PyTorch's", () => {
  const net = new Net();
  const expected = `Net(
  (conv1): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
  (bn1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (layer1): Sequential(
    (0): Block(
      (conv1): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (relu): ReLU()
      (conv2): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (1): Block(
      (conv1): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (relu): ReLU()
      (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (downsample): Sequential(
        (0): Conv2d(4, 8, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
  )
  (pool): AdaptiveAvgPool2d(output_size=1)
  (fc): Linear(in_features=8, out_features=2, bias=True)
)`;
  assert.equal(net.toString(), expected);
  const seq = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: "same", paddingMode: "reflect" }), new nn.BatchNorm1d(3, { momentum: null }),
    new nn.LayerNorm([2, 3]), new nn.GroupNorm(2, 4), new nn.LeakyReLU(0.2), new nn.GELU({ approximate: "tanh" }), new nn.Dropout(0.25),
    new nn.MaxPool2d(3, { stride: 2, padding: 1 }), new nn.AvgPool2d(2), new nn.AdaptiveAvgPool2d([2, null]),
    new nn.Upsample({ scaleFactor: 2, mode: "bilinear" }), new nn.Softmax(1),
    new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1, outputPadding: 1, bias: false }), new nn.Flatten(), new nn.Identity(),
    new nn.Linear(3, 1, { bias: false }), new nn.CrossEntropyLoss());
  assert.equal(seq.toString(), `Sequential(
  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=reflect)
  (1): BatchNorm1d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=True)
  (2): LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)
  (3): GroupNorm(2, 4, eps=1e-05, affine=True)
  (4): LeakyReLU(negative_slope=0.2)
  (5): GELU(approximate='tanh')
  (6): Dropout(p=0.25, inplace=False)
  (7): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
  (8): AvgPool2d(kernel_size=2, stride=2, padding=0)
  (9): AdaptiveAvgPool2d(output_size=(2, None))
  (10): Upsample(scale_factor=2.0, mode=bilinear)
  (11): Softmax(dim=1)
  (12): ConvTranspose2d(4, 2, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), bias=False)
  (13): Flatten(start_dim=1, end_dim=-1)
  (14): Identity()
  (15): Linear(in_features=3, out_features=1, bias=False)
  (16): CrossEntropyLoss()
)`);
  net.dispose();
  seq.dispose();
});

test("loadStateDict copies values in place and round-trips a model", () => torch.tidy(() => {
  torch.manualSeed(1);
  const a = new Net(), b = new Net();
  const weight = b.fc.weight;
  const x = torch.randn([2, 3, 8, 8]);
  a.train(); a.forward(x);  // non-trivial running stats
  a.eval(); b.eval();
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.fc.weight, weight, "same Parameter object");
  assert.equal(b.bn1.numBatchesTracked!.item(), 1);
  assertClose(b.forward(x), a.forward(x));
  // a plain object works too, and values are copied, not aliased
  const record = Object.fromEntries(torch.noGrad(() => [...a.stateDict()].map(([k, v]) => [k, v.clone()])));
  b.loadStateDict(record);
  record["fc.bias"].fill_(42);
  assert.notEqual(b.fc.bias!.dataSync()[0], 42);
  // a float64 checkpoint is converted into the float32 model
  const lin = new nn.Linear(2, 1);
  lin.loadStateDict(new Map([["weight", torch.tensor([[1, 2]], { dtype: "float64" })], ["bias", torch.tensor([3], { dtype: "float64" })]]));
  assert.equal(lin.weight.dtype, "float32");
  assert.deepEqual(lin.forward(torch.tensor([[1, 1]])).tolist(), [[6]]);
  for (const m of [a, b, lin]) m.dispose();
}));

test("loadStateDict: strict errors list missing keys, unexpected keys and size mismatches; nothing is copied", () => torch.tidy(() => {
  const net = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3));
  const sd = net.stateDict();
  const before = net.get(0).stateDict().get("weight")!.clone();
  const bad = new Map(sd);
  bad.delete("1.running_var");
  bad.set("2.weight", torch.zeros([1]));
  bad.set("0.weight", torch.zeros([10, 4]));
  assert.throws(() => net.loadStateDict(bad), (e: Error) => {
    assert.equal(e.name, "FlareError");
    assert.equal(e.message, "Error(s) in loading state_dict for Sequential:\n" +
      "\tMissing key(s) in state_dict: \"1.running_var\".\n" +
      "\tUnexpected key(s) in state_dict: \"2.weight\".\n" +
      "\tsize mismatch for 0.weight: copying a param with shape [10, 4] from checkpoint, the shape in current model is [3, 4].");
    return true;
  });
  assertClose(net.get(0).stateDict().get("weight")!, before);  // all-or-nothing
  // size mismatch for the docs' example
  const fc = new nn.Sequential(new Map([["fc", new nn.Linear(512, 2)]]));
  assertFlareError(() => fc.loadStateDict({ "fc.weight": torch.zeros([10, 512]), "fc.bias": torch.zeros([10]) }),
    /size mismatch for fc\.weight: copying a param with shape \[10, 512\] from checkpoint, the shape in current model is \[2, 512\]/, "E_SHAPE");
  // strict: false reports instead of throwing (a size mismatch still throws, as in PyTorch)
  const partial = new Map(sd);
  partial.delete("1.running_var");
  partial.set("head.weight", torch.zeros([1]));
  assert.deepEqual(net.loadStateDict(partial, { strict: false }), { missingKeys: ["1.running_var"], unexpectedKeys: ["head.weight"] });
  assertFlareError(() => net.loadStateDict(bad, { strict: false }), /size mismatch for 0\.weight/);
  assertFlareError(() => net.loadStateDict({ "0.weight": "nope" } as never, { strict: false }), /expected a Tensor from checkpoint/);
  assertFlareError(() => net.loadStateDict(null as never), /expected a Map or an object/);
  net.dispose(); fc.dispose();
}));

test("train()/eval() propagate to every descendant and change behaviour", () => torch.tidy(() => {
  const net = new Net();
  assert.ok(net.modules().every((m) => m.training));
  assert.equal(net.eval(), net);
  assert.ok(net.modules().every((m) => !m.training));
  net.layer1.train();
  assert.equal(net.training, false);
  assert.ok(net.layer1.modules().every((m) => m.training));
  net.train(false);
  // eval: batch norm uses (and doesn't update) running stats; batch of one is fine
  const x = torch.randn([1, 3, 8, 8]);
  net.forward(x);
  assert.equal(net.bn1.numBatchesTracked!.item(), 0);
  net.train();
  assertFlareError(() => new nn.BatchNorm1d(3).forward(torch.randn([1, 3])), /more than 1 value per channel when training/);
  net.forward(torch.randn([2, 3, 8, 8]));
  assert.equal(net.bn1.numBatchesTracked!.item(), 1);
  assertFlareError(() => net.train("yes" as never), /mode must be true or false/);
  net.dispose();
}));

test("zeroGrad sets gradients to null (or zeros); requiresGrad_ freezes", () => torch.tidy(() => {
  const net = new Net();
  net.forward(torch.randn([2, 3, 8, 8])).sum().backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad({ setToNone: false });
  assert.ok(net.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() === 0));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  assert.equal(net.requiresGrad_(false), net);
  assert.ok(net.parameters().every((p) => !p.requiresGrad));
  net.fc.requiresGrad_(true);
  net.forward(torch.randn([2, 3, 8, 8])).sum().backward();
  assert.equal(net.conv1.weight.grad, null);
  assert.notEqual(net.fc.weight.grad, null);
  net.dispose();
}));

test("to('float64') converts parameters and floating buffers in place, keeping the objects", () => torch.tidy(() => {
  const net = new Net();
  const weight = net.fc.weight, mean = net.bn1.runningMean!;
  net.forward(torch.randn([2, 3, 8, 8])).sum().backward();
  assert.equal(net.to("float64"), net);
  assert.equal(net.fc.weight, weight);
  assert.equal(net.bn1.runningMean, mean);
  for (const [k, t] of net.stateDict()) assert.equal(t.dtype, k.endsWith("num_batches_tracked") ? "int64" : "float64", k);
  assert.equal(weight.grad!.dtype, "float64");
  assert.ok(weight.requiresGrad && weight.isLeaf);
  const y = net.forward(torch.randn([2, 3, 8, 8], { dtype: "float64" }));
  assert.equal(y.dtype, "float64");
  y.sum().backward();
  net.to({ dtype: "float32", device: "cpu" });
  assert.equal(net.fc.weight.dtype, "float32");
  assert.equal(net.double().fc.bias!.dtype, "float64");
  assertFlareError(() => net.to("int64"), /only accepts floating point dtypes/, "E_DTYPE");
  net.dispose();
}));

test("parameters and buffers survive tidy(); forward/backward in tidy leaks nothing; dispose() frees the module", () => {
  const start = settledTensors();
  const net = torch.tidy(() => new Net());
  assert.ok(!net.fc.weight.isDisposed && !net.bn1.runningMean!.isDisposed);
  const afterBuild = settledTensors();
  const x = torch.randn([2, 3, 8, 8]);
  for (let i = 0; i < 3; i++) {
    torch.tidy(() => {
      net.zeroGrad();
      const loss = F.crossEntropy(net.forward(x), torch.tensor([0, 1], { dtype: "int64" }));
      loss.backward();
    });
  }
  net.zeroGrad();
  assert.equal(torch.memory().numTensors, afterBuild + 1);  // + x
  x.dispose();
  net.dispose();
  assert.ok(net.fc.weight.isDisposed && net.bn1.runningMean!.isDisposed);
  assert.equal(torch.memory().numTensors, start);
});

test("buffers: registerBuffer, reassignment, persistent: false, null slots, camelCase getters", () => torch.tidy(() => {
  class WithBuffers extends nn.Module {
    declare scale: torch.Tensor;
    declare cache: torch.Tensor | null;
    declare empty: torch.Tensor | null;
    weight = new nn.Parameter(torch.ones([2]));
    constructor() {
      super();
      this.registerBuffer("scale", torch.full([2], 3));
      this.registerBuffer("cache", torch.zeros([1]), { persistent: false });
      this.registerBuffer("empty", null);
    }
  }
  const m = torch.tidy(() => new WithBuffers());
  assert.ok(!m.scale.isDisposed, "a registered buffer is kept");
  assert.deepEqual([...m.stateDict().keys()], ["weight", "scale"]);
  assert.deepEqual(m.namedBuffers().map(([k]) => k), ["scale", "cache"]);
  torch.tidy(() => { m.scale = torch.tensor([5, 6]); });
  assert.deepEqual(m.scale.tolist(), [5, 6], "reassigned buffer survives tidy");
  assert.deepEqual(m.stateDict().get("scale")!.tolist(), [5, 6]);
  m.empty = torch.ones([1]);
  assert.deepEqual([...m.stateDict().keys()], ["weight", "scale", "empty"]);
  assertFlareError(() => { m.scale = 3 as never; }, /cannot assign number 3 as buffer "scale"/, "E_TYPE");
  assertFlareError(() => m.registerBuffer("weight", torch.ones([1])), /already a parameter/);
  assertFlareError(() => m.registerBuffer("a.b", torch.ones([1])), /can't contain "\."/);
  assertFlareError(() => m.registerBuffer("forward", torch.ones([1])), /clashes with a method/);
  const bn = new nn.BatchNorm2d(2);
  bn.runningMean = torch.tensor([1, 2]);
  assert.deepEqual(bn.stateDict().get("running_mean")!.tolist(), [1, 2]);
  assert.equal(bn.running_mean, bn.runningMean);
  const noStats = new nn.BatchNorm2d(2, { trackRunningStats: false, affine: false });
  assert.deepEqual([...noStats.stateDict().keys()], []);
  assert.equal(noStats.runningMean, null);
  m.dispose(); bn.dispose();
}));

test("shared modules and parameters are listed once but kept under every name in the state dict", () => {
  const shared = new nn.Linear(2, 2);
  const net = new nn.Sequential(shared, new nn.ReLU(), shared);
  assert.equal(net.parameters().length, 2);
  assert.deepEqual(net.namedModules().map(([k]) => k), ["", "0", "1"]);
  assert.deepEqual([...net.stateDict().keys()], ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.deepEqual(net.namedParameters({ removeDuplicate: false }).map(([k]) => k), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  const order: string[] = [];
  net.apply((m) => order.push(m.constructor.name));
  assert.deepEqual(order, ["Linear", "ReLU", "Sequential"], "apply: children first, then the module");
  net.dispose();
});

test("Sequential: forward chains; get, negative indices, length, iteration, append, insert, delete, slice", () => torch.tidy(() => {
  const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
  assert.equal(seq.length, 3);
  assert.equal(seq.get(-1), seq.get(2));
  assert.deepEqual([...seq].map((m) => m.constructor.name), ["Linear", "ReLU", "Linear"]);
  const x = torch.randn([5, 3]);
  const l0 = seq.get(0) as nn.Linear, l2 = seq.get(2) as nn.Linear;
  assertClose(seq.forward(x), l2.forward(l0.forward(x).relu()));
  seq.append(new nn.Sigmoid());
  assert.deepEqual(seq.namedChildren().map(([k]) => k), ["0", "1", "2", "3"]);
  seq.insert(1, new nn.Identity());
  assert.deepEqual([...seq].map((m) => m.constructor.name), ["Linear", "Identity", "ReLU", "Linear", "Sigmoid"]);
  seq.delete(1);
  assert.deepEqual([...seq.stateDict().keys()], ["0.weight", "0.bias", "2.weight", "2.bias"]);
  const tail = seq.slice(2);
  assert.deepEqual(tail.namedChildren().map(([k]) => k), ["2", "3"], "a slice keeps the names, as PyTorch's net[2:]");
  assert.equal(tail.get(0), l2);
  const named = new nn.Sequential(new Map<string, nn.Module>([["conv", new nn.Conv2d(1, 2, 3)], ["10", new nn.ReLU()], ["act", new nn.ReLU()]]));
  assert.deepEqual(named.namedChildren().map(([k]) => k), ["conv", "10", "act"], "insertion order, numeric names included");
  assert.deepEqual([...named.stateDict().keys()], ["conv.weight", "conv.bias"]);
  assertFlareError(() => seq.get(9), /index 9 is out of range/, "E_INDEX");
  assertFlareError(() => new nn.Sequential(new nn.ReLU(), "relu" as never), /argument 1 must be a Module/);
  seq.dispose(); named.dispose();
}));

test("ModuleList and ModuleDict register their children in order", () => {
  const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 3)]);
  list.append(new nn.Linear(3, 1));
  assert.equal(list.length, 3);
  assert.deepEqual([...list.stateDict().keys()], ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]);
  assert.deepEqual(list.slice(1).namedChildren().map(([k]) => k), ["0", "1"]);
  assertFlareError(() => list.forward(), /has no forward/, "E_NOT_IMPLEMENTED");
  const dict = new nn.ModuleDict({ b: new nn.Linear(1, 1) });
  dict.set("10", new nn.Linear(1, 1, { bias: false }));
  dict.set("2", new nn.ReLU());
  dict.set("a", new nn.Linear(1, 1, { bias: false }));
  assert.deepEqual(dict.keys(), ["b", "10", "2", "a"]);
  assert.deepEqual([...dict], ["b", "10", "2", "a"]);
  assert.deepEqual([...dict.stateDict().keys()], ["b.weight", "b.bias", "10.weight", "a.weight"]);
  assert.ok(dict.has("2") && dict.get("2") instanceof nn.ReLU);
  dict.pop("10");
  assert.deepEqual(dict.keys(), ["b", "2", "a"]);
  class Heads extends nn.Module {
    heads = new nn.ModuleList([new nn.Linear(2, 1), new nn.Linear(2, 1)]);
    byName = new nn.ModuleDict({ cls: new nn.Linear(2, 3) });
  }
  assert.deepEqual([...new Heads().stateDict().keys()], ["heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias", "byName.cls.weight", "byName.cls.bias"]);
  list.dispose(); dict.dispose();
});

test("Dropout: identity for p = 0 and in eval; train-mode scaling by 1/(1-p) on average", () => torch.tidy(() => {
  torch.manualSeed(3);
  const x = torch.ones([200, 500]);
  const drop = new nn.Dropout(0.3);
  const y = drop.forward(x);
  const zeros = y.eq(0).float().mean().item() as number;
  assert.ok(Math.abs(zeros - 0.3) < 0.01, `fraction dropped ${zeros}`);
  const kept = y.maskedSelect(y.ne(0));
  assertClose(kept.amin(), torch.tensor(1 / 0.7));
  assertClose(kept.amax(), torch.tensor(1 / 0.7));
  assert.ok(Math.abs((y.mean().item() as number) - 1) < 0.02, "expectation preserved");
  drop.eval();
  assert.deepEqual(drop.forward(x).sum().item(), 200 * 500);
  assertClose(new nn.Dropout(0).forward(x), x);
  assertClose(F.dropout(x, 0.5, { training: false }), x);
  // Dropout2d zeroes whole channels
  const channels = new nn.Dropout2d(0.5).forward(torch.ones([20, 30, 3, 3]));
  const perChannel = channels.sum([2, 3]);
  const values = new Set(Array.from(perChannel.dataSync() as Float32Array, (v) => Math.round(v * 1000) / 1000));
  assert.deepEqual([...values].sort(), [0, 18]);
  const frac = perChannel.eq(0).float().mean().item() as number;
  assert.ok(Math.abs(frac - 0.5) < 0.1, `fraction of channels dropped ${frac}`);
  // inplace
  const z = torch.ones([4, 4]);
  assert.equal(F.dropout(z, 0.5, { inplace: true }), z);
  assertFlareError(() => new nn.Dropout(1.5), /dropout probability has to be between 0 and 1, but got number 1.5/);
}));

test("Parameter: shares data, requires grad, is kept; PyTorch's init under manualSeed", () => {
  const data = torch.tidy(() => {
    const t = torch.zeros([3]);
    const p = new nn.Parameter(t);
    t.fill_(2);
    assert.deepEqual(p.tolist(), [2, 2, 2]);
    assert.ok(p.requiresGrad && p.isLeaf && p.kept);
    assert.equal(new nn.Parameter(t, false).requiresGrad, false);
    return p;
  });
  assert.ok(!data.isDisposed);
  data.dispose();
  // init helpers
  torch.tidy(() => {
    const w = torch.empty([6, 4]);
    assert.equal(nn.init.constant_(w, 0.5), w);
    assert.equal(w.sum().item(), 12);
    nn.init.zeros_(w); assert.equal(w.abs().sum().item(), 0);
    nn.init.ones_(w); assert.equal(w.sum().item(), 24);
    nn.init.uniform_(w, -0.1, 0.1);
    assert.ok((w.abs().amax().item() as number) <= 0.1);
    const p = new nn.Parameter(torch.empty([3, 3]));
    nn.init.kaimingNormal_(p, { mode: "fan_out", nonlinearity: "relu" });
    assert.equal(p.gradFn, null, "init runs without recording gradients");
    p.dispose();
    assert.deepEqual(nn.init.calculateFanInAndFanOut(torch.empty([8, 4, 3, 3])), [36, 72]);
    assertFlareError(() => nn.init.xavierUniform_(torch.empty([5])), /fewer than 2 dimensions/, "E_SHAPE");
    assertFlareError(() => nn.init.kaimingUniform_(w, { mode: "fan_avg" as never }), /mode must be one of "fan_in", "fan_out"/);
    assertFlareError(() => nn.init.calculateGain("softplus" as never), /unsupported nonlinearity "softplus"/);
  });
});

test("layers: shapes, options and conveniences", () => torch.tidy(() => {
  const x = torch.randn([2, 3, 9, 9]);
  assert.deepEqual(new nn.Conv2d(3, 5, 3, { padding: "same" }).forward(x).shape, [2, 5, 9, 9]);
  assert.deepEqual(new nn.Conv2d(3, 5, [3, 1], { stride: 2 }).forward(x).shape, [2, 5, 4, 5]);
  const up = new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1 });
  assert.deepEqual(up.forward(x).shape, [2, 2, 17, 17]);
  assert.deepEqual(up.forward(x, [18, 18]).shape, [2, 2, 18, 18]);
  assert.deepEqual(up.forward(x, [2, 2, 18, 17]).shape, [2, 2, 18, 17]);
  assertFlareError(() => up.forward(x, [20, 20]), /valid sizes range from \[17, 17\] to \[18, 18\]/, "E_SHAPE");
  const [values, indices] = new nn.MaxPool2d(3, { returnIndices: true }).forward(x);
  assert.deepEqual(values.shape, [2, 3, 3, 3]);
  assert.equal(indices.dtype, "int64");
  assert.deepEqual(new nn.AdaptiveAvgPool2d([null, 2]).forward(x).shape, [2, 3, 9, 2]);
  assert.deepEqual(new nn.Flatten().forward(x).shape, [2, 243]);
  assert.deepEqual(new nn.Upsample({ scaleFactor: 2, mode: "bilinear", alignCorners: true }).forward(x).shape, [2, 3, 18, 18]);
  assert.deepEqual(F.interpolate(x, { size: [4, 5] }).shape, [2, 3, 4, 5]);
  assert.deepEqual(F.pad(x, [1, 1, 2, 2], "reflect").shape, [2, 3, 13, 11]);
  assert.deepEqual(F.oneHot(torch.tensor([0, 3], { dtype: "int64" })).tolist(), [[1, 0, 0, 0], [0, 0, 0, 1]]);
  const probs = new nn.Softmax(1).forward(torch.randn([2, 4]));
  assertClose(probs.sum(1), torch.ones([2]));
  assertClose(new nn.Softmax().forward(torch.randn([2, 4])).sum(1), torch.ones([2]), { what: "implicit dim 1 for 2-D input" });
  // losses as modules, class weights as buffers named as PyTorch's
  const ce = new nn.CrossEntropyLoss({ weight: torch.tensor([1, 2, 3]), reduction: "sum" });
  assert.deepEqual([...ce.stateDict().keys()], ["weight"]);
  assert.equal(ce.forward(torch.randn([4, 3]), torch.tensor([0, 1, 2, 1], { dtype: "int64" })).shape.length, 0);
  assert.deepEqual([...new nn.BCEWithLogitsLoss({ posWeight: torch.ones([3]) }).stateDict().keys()], ["pos_weight"]);
  assert.deepEqual(new nn.MSELoss({ reduction: "none" }).forward(torch.ones([2, 3]), torch.zeros([3])).shape, [2, 3]);
  // factory options
  const lin = new nn.Linear(2, 3, { dtype: "float64" });
  assert.equal(lin.weight.dtype, "float64");
  lin.dispose(); up.dispose(); ce.dispose();
}));

test("bad inputs give FlareErrors that name the argument", () => torch.tidy(() => {
  assertFlareError(() => new nn.Conv2d(3, 8, 2.5), /Conv2d\(\): kernelSize must be an integer, got number 2.5/);
  assertFlareError(() => new nn.Conv2d(3, 8, [3, 3, 3] as never), /kernelSize must be an integer or 2 integers/);
  assertFlareError(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
  assertFlareError(() => new nn.Conv2d(4, 6, 3, { groups: 4 }), /outChannels \(6\) must be divisible by groups \(4\)/);
  assertFlareError(() => new nn.Conv2d(3, 8, 3, { padding: "full" as never }), /padding must be one of "same", "valid"/);
  assertFlareError(() => new nn.Conv2d(3, 8, 3, { padding: "same", stride: 2 }), /padding="same" is not supported for strided convolutions/);
  assertFlareError(() => new nn.Conv2d(3, 8, 3, { paddingMode: "mirror" as never }), /paddingMode must be one of/);
  assertFlareError(() => new nn.Conv2d(3, 8, 3).forward(torch.randn([1, 2, 5, 5])), /expected input\[1, 2, 5, 5\] to have 3 channels, but got 2 channels/);
  assertFlareError(() => new nn.Linear(3, 2).forward(torch.randn([4, 5])), /mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)/);
  assertFlareError(() => new nn.Linear(3, 2).forward([1, 2, 3] as never), /linear\(\): input must be a Tensor, got an array/);
  assertFlareError(() => new nn.Linear(3.5, 2), /inFeatures must be an integer/);
  assertFlareError(() => new nn.BatchNorm2d(3).forward(torch.randn([2, 3, 4])), /BatchNorm2d: expected 4D input \(got 3D input\)/, "E_SHAPE");
  assertFlareError(() => new nn.BatchNorm1d(3).forward(torch.randn([2, 3, 4, 4])), /expected 2D or 3D input \(got 4D input\)/);
  assertFlareError(() => new nn.GroupNorm(3, 4), /numChannels \(4\) must be divisible by numGroups \(3\)/);
  assertFlareError(() => new nn.MaxPool2d(0), /kernelSize must be positive, got 0/);
  assertFlareError(() => new nn.Upsample({}), /either size or scaleFactor should be defined/);
  assertFlareError(() => new nn.GELU({ approximate: "fast" as never }), /approximate must be one of "none", "tanh"/);
  const x = torch.randn([1, 2, 4, 4]);
  assertFlareError(() => F.interpolate(x, { size: 2, scaleFactor: 2 }), /only one of size or scaleFactor/);
  assertFlareError(() => F.interpolate(x, { size: 8, mode: "nearest", alignCorners: true }), /alignCorners can only be set/);
  assertFlareError(() => F.interpolate(x, { size: 8, mode: "trilinear" }), /trilinear mode needs 5D input/, "E_SHAPE");
  assertFlareError(() => F.interpolate(x, { size: [1, 2, 3] }), /size must be an integer or 2 integers/);
  assertFlareError(() => F.pad(x, [1, 2, 3]), /array of even length/);
  assertFlareError(() => F.pad(x, [1, 1], { mode: "reflect", value: 1 }), /doesn't take a value/);
  assertFlareError(() => F.softmax(x, 1.5), /softmax\(\): dim must be an integer/);
  assertFlareError(() => F.crossEntropy(torch.randn([2, 3]), torch.tensor([0, 1], { dtype: "int64" }), { reduction: "avg" as never }),
    /crossEntropy\(\): reduction must be one of "none", "mean", "sum", got "avg"/);
  assertFlareError(() => F.crossEntropy(torch.randn([2, 3]), torch.tensor([0, 1], { dtype: "int64" }), { labelSmoothing: 2 }), /labelSmoothing must be between/);
  assertFlareError(() => F.crossEntropy(torch.randn([2, 3]), torch.tensor([0, 7], { dtype: "int64" })), /Target 7 is out of bounds/);
  assertFlareError(() => F.binaryCrossEntropy(torch.rand([2, 3]), torch.rand([3])), /target size \[3\] must be the same as input size \[2, 3\]/, "E_SHAPE");
  assertFlareError(() => F.binaryCrossEntropyWithLogits(torch.rand([2, 3]), torch.rand([2])), /must be the same as input size/);
  assertFlareError(() => F.smoothL1Loss(x, x, { beta: -1 }), /beta must be non-negative/);
  assertFlareError(() => F.batchNorm(x, null, null), /runningMean and runningVar are required/);
  assertFlareError(() => F.groupNorm(torch.randn([1, 4]), 4), /more than 1 value per channel/);
  assertFlareError(() => F.conv2d(x, torch.randn([2, 2, 3, 3]), null, { stride: 0 }), /stride must be positive, got 0/);
  assertFlareError(() => F.maxPool2d(x, 2, { padding: -1 }), /padding must be at least 0/);
  assertFlareError(() => new nn.Module().forward(x), /Module has no forward\(\)/, "E_NOT_IMPLEMENTED");
  assertFlareError(() => new nn.Module().addModule("child", {} as never), /is not a Module subclass/);
  assertFlareError(() => new nn.Module().registerParameter("w", torch.ones([1]) as never), /cannot assign Tensor as parameter "w"/);
}));
