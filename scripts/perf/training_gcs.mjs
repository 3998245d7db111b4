// V8's collections during a training loop in tidy(): 12 steps each of d2l's
// ResNet-18 (batch 16x1x28x28) and a small CNN (batch 64x3x32x32). Count the
// mark-compacts, and the marking cycles external memory started, with
//   node --trace-gc --trace-incremental-marking scripts/perf/training_gcs.mjs [ROOT] 2>&1 | grep -c Mark-Compact
//   node --trace-gc --trace-incremental-marking scripts/perf/training_gcs.mjs [ROOT] 2>&1 | grep -c "Start (external memory pressure)"
// (ROOT: another flare checkout, built, to compare; default this one.)
const root = process.argv[2] ?? new URL("../..", import.meta.url).pathname;
const torch = await import(`${root}/dist/src/index.js`);
const { models } = await import(`${root}/dist/src/vision/index.js`);
const { nn, F, optim } = torch;

function trainStep(net, x, y, lr) {
  const opt = new optim.SGD(net.parameters(), { lr, momentum: 0.9 });
  return () => torch.tidy(() => { opt.zeroGrad(); const loss = F.crossEntropy(net.forward(x), y); loss.backward(); opt.step(); return loss.item(); });
}
torch.manualSeed(0);
const resnet = trainStep(models.resnet18Small(10), torch.randn([16, 1, 28, 28]), torch.randint(0, 10, [16]), 0.1);
const cnn = trainStep(new nn.Sequential(
  new nn.Conv2d(3, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(64 * 8 * 8, 128), new nn.ReLU(), new nn.Linear(128, 10)),
  torch.randn([64, 3, 32, 32]), torch.randint(0, 10, [64]), 0.05);
for (let i = 0; i < 12; i++) { resnet(); cnn(); }
