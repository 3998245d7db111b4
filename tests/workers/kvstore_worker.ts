// One rank of tests/kvstore.test.ts: a KVStore over the process group (torchrun's environment variables).
import * as torch from "../../src/index.js";
import * as dist from "../../src/distributed/index.js";
import { KVStore } from "../../src/distributed/kvstore.js";

const group = dist.initProcessGroup({ backend: "gloo" });
const rank = Number(process.env.RANK);
const kv = new KVStore({ group });
kv.init("w", torch.zeros([3]));
kv.init(7, torch.ones([2]));
// rank r pushes two tensors: (r+1)*[1,2,3] and [1,1,1]; over 2 ranks: 3*[1,2,3] + 2.
kv.push("w", [torch.tensor([1, 2, 3]).mul(rank + 1), torch.ones([3])]);
const w = kv.pull("w");
kv.setUpdater((_key, aggregate, stored) => { stored.sub_(aggregate.mul(0.5)); });
kv.push(7, torch.full([2], rank + 1));
const out = torch.zeros([2]);
kv.pull(7, out);
console.log(JSON.stringify({ type: kv.type, w: w.tolist(), seven: out.tolist() }));
dist.destroyProcessGroup();
