// One rank of tests/distributed_ddp.test.ts and distributed_faults.test.ts:
// torchrun's environment variables, the mode in argv[2], options as JSON in argv[3].
import * as torch from "../../src/index.js";
import { nn, optim, F } from "../../src/index.js";
import * as dist from "../../src/distributed/index.js";
import { DistributedDataParallel } from "../../src/nn/parallel/index.js";
import { SyncBatchNorm } from "../../src/nn/parallel/sync_batchnorm.js";
import { Trainer, supervisedStep } from "../../src/engine/index.js";
import { makeModel, makeData, flatParams } from "./ddp_common.js";
import { DataLoader, DistributedSampler, TensorDataset } from "../../src/data/index.js";

const mode = process.argv[2];
const opts = JSON.parse(process.argv[3] ?? "{}") as Record<string, number | boolean | string>;
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<void> {
  torch.setNumThreads(1);
  if (mode === "join") {
    // Fault tests: just rendezvous, with the timeout given.
    try {
      const g = dist.initProcessGroup({ timeout: Number(opts.timeout ?? 5000) });
      dist.barrier();
      out({ ok: true, rank: g.rank });
      dist.destroyProcessGroup();
    } catch (error) {
      out({ error: (error as Error).message, name: (error as Error).name, code: (error as { code?: string }).code });
      process.exitCode = 1;
    }
    return;
  }
  dist.initProcessGroup({ timeout: Number(opts.timeout ?? 20_000) });
  const rank = dist.getRank(), world = dist.getWorldSize();
  if (mode === "collectives") {
    const t = torch.tensor([1, 2, 3]).mul(rank + 1);
    const avg = t.clone(); dist.allReduce(avg, { op: "avg" });
    const prod = t.clone(); dist.allReduce(prod, { op: "product" });
    const min = t.clone(); dist.allReduce(min, { op: "min" });
    const gathered = [torch.zeros([3]), torch.zeros([3])];
    dist.allGather(gathered, t);
    const scattered = torch.zeros([2]);
    dist.reduceScatter(scattered, [torch.tensor([1, 2]).mul(rank + 1), torch.tensor([3, 4]).mul(rank + 1)]);
    const b = rank === 1 ? torch.tensor([7, 8]) : torch.zeros([2]);
    dist.broadcast(b, 1);
    const solo = dist.newGroup([1]);
    const both = dist.newGroup([0, 1]);
    const viaGroup = torch.tensor([rank + 10]);
    dist.allReduce(viaGroup, { group: both });
    let soloResult: number[] | string;
    if (rank === 1) { const s = torch.tensor([5]); dist.allReduce(s, { group: solo }); soloResult = s.tolist() as number[]; }
    else { try { dist.allReduce(torch.tensor([5]), { group: solo }); soloResult = "no error"; } catch (e) { soloResult = (e as Error).message; } }
    // Async: the event loop runs while rank 1 is late.
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 20);
    if (rank === 1) await new Promise((r) => setTimeout(r, 600));
    const late = torch.tensor([rank + 1]);
    const work = dist.allReduce(late, { asyncOp: true });
    await work.wait();
    clearInterval(timer);
    dist.barrier();
    out({
      rank, world, avg: avg.tolist(), prod: prod.tolist(), min: min.tolist(), gathered: gathered.map((g) => g.tolist()),
      scattered: scattered.tolist(), broadcast: b.tolist(), viaGroup: viaGroup.tolist(), solo: soloResult,
      soloRank: dist.getRank(solo), late: late.tolist(), ticks, initialized: dist.isInitialized(),
    });
    dist.destroyProcessGroup();
    return;
  }
  if (mode === "steps") {
    // K SGD steps of DDP on this rank's half of each global batch.
    const model = makeModel(Boolean(opts.syncBn), rank);  // rank-dependent init: DDP must broadcast rank 0's
    const net = Boolean(opts.syncBn) ? SyncBatchNorm.convertSyncBatchnorm(model) : model;
    const ddp = new DistributedDataParallel(net, { bucketCapMb: Number(opts.bucketCapMb ?? 25), findUnusedParameters: Boolean(opts.findUnused) });
    const opt = new optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
    const { x, y } = makeData(Number(opts.batch) * world * Number(opts.accumulate ?? 1) * Number(opts.steps));
    const per = Number(opts.batch), acc = Number(opts.accumulate ?? 1);
    let offset = 0;
    for (let s = 0; s < Number(opts.steps); s++) {
      opt.zeroGrad();
      for (let m = 0; m < acc; m++) {
        torch.tidy(() => {
          const lo = offset + rank * per;
          const xb = x.narrow(0, lo, per), yb = y.narrow(0, lo, per);
          const body = () => F.crossEntropy(ddp.forward(xb), yb).div(acc).backward();
          if (m < acc - 1) ddp.noSync(body); else body();
        });
        offset += per * world;
      }
      opt.step();
    }
    const stats = ddp.stats();
    out({ rank, params: flatParams(net), buckets: ddp.buckets().length, stats });
    ddp.dispose();
    dist.destroyProcessGroup();
    return;
  }
  if (mode === "trainer") {
    // The Trainer under DDP with a run folder; stopAfter ends early (then resume).
    const model = makeModel(false, 0);
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const { x, y } = makeData(64);
    const batches = (epoch: number) => {
      const order = new torch.Generator(epoch + 1).permutation(64);
      return Array.from({ length: 4 }, (_, i) => torch.tidy(() => {
        const idx = torch.tensor(order.slice(i * 16, i * 16 + 16), { dtype: "int64" });
        return [x.indexSelect(0, idx), y.indexSelect(0, idx)];
      }));
    };
    const stopAfter = opts.stopAfter === undefined ? -1 : Number(opts.stopAfter);
    const trainer = new Trainer({
      model, optimizer: opt, epochs: Number(opts.epochs), step: supervisedStep((o, t) => F.crossEntropy(o, t)),
      runDir: String(opts.runDir), output: "silent", accumulate: Number(opts.accumulate ?? 1),
      callbacks: { onEpochEnd: (m) => m.epoch === stopAfter },
    });
    const history = await trainer.fit(batches, undefined, { resume: Boolean(opts.resume) });
    out({ rank, params: flatParams(model), epochs: history.length, rankSeen: trainer.rank });
    return;
  }
  if (mode === "sampler") {
    // A DataLoader with a DistributedSampler: the Trainer takes its batches as
    // this rank's (no second split) and reseeds the sampler every epoch.
    const model = makeModel(false, 0);
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const { x, y } = makeData(16);
    const data = new DataLoader(new TensorDataset(x, y, torch.arange(16)), { batchSize: 4, sampler: new DistributedSampler(16, { shuffle: true, seed: 3 }) });
    const seen: number[][] = [[], []];
    const trainer = new Trainer({
      model, optimizer: opt, epochs: 2, output: "silent",
      step: { trainStep: (m, batch, info) => {
        const [xb, yb, ib] = batch as torch.Tensor[];
        seen[info.epoch].push(...(ib.tolist() as number[]));
        return { loss: F.crossEntropy(m.forward(xb), yb), size: xb.shape[0] };
      } },
    });
    await trainer.fit(data);
    out({ rank, seen, params: flatParams(model) });
    return;
  }
  if (mode === "die") {
    // Trains until rank `victim` kills itself at step 3; the others must fail, naming it.
    const model = makeModel(false, 0);
    const ddp = new DistributedDataParallel(model);
    const opt = new optim.SGD(ddp.parameters(), { lr: 0.01 });
    const { x, y } = makeData(16);
    const started = Date.now();
    try {
      for (let s = 0; s < 1000; s++) {
        if (rank === Number(opts.victim) && s === 3) process.kill(process.pid, "SIGKILL");
        torch.tidy(() => { opt.zeroGrad(); F.crossEntropy(ddp.forward(x), y).backward(); opt.step(); });
      }
      out({ rank, error: null });
    } catch (error) {
      out({ rank, error: (error as Error).message, name: (error as Error).name, seconds: (Date.now() - started) / 1000 });
      process.exitCode = 1;
    }
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

void main().catch((error) => { process.stderr.write(`${(error as Error).stack}\n`); process.exitCode = 1; });
void nn;
