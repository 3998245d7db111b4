// A worker thread for tests/autograd_threads.test.ts: runs a backward pass
// with a hook in its own JS environment, then hands over a tensor that carries
// a hook registered here.
import { parentPort } from "node:worker_threads";
import * as torch from "../../src/index.js";

const x = torch.tensor([1, 2, 3]).requiresGrad_();
const seen: number[][] = [];
x.registerHook((g) => { seen.push(Array.from(g.dataSync() as Float32Array)); return g.mul(3); });
torch.tidy(() => x.mul(2).sum().backward());
parentPort!.postMessage({ seen, grad: Array.from(x.grad!.dataSync() as Float32Array), handle: x.release() });
// Stay alive until the main thread has tried the hook: the registering thread must still exist.
parentPort!.once("message", () => process.exit(0));
