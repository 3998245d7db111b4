// One rank of tests/distributed.test.ts: reads torchrun's environment variables.
import * as torch from "../../src/index.js";
import { initProcessGroup } from "../../src/distributed/index.js";

const group = initProcessGroup({ timeoutMs: 30_000 });
const scale = group.rank + 1;
const sum = torch.tensor([1, 2, 3]).mul(scale);
group.allReduce(sum);
const max = torch.tensor([1, 2, 3]).mul(scale);
group.allReduce(max, "max");
const shared = group.rank === 1 ? torch.tensor([10, 11]) : torch.zeros([2]);
group.broadcast(shared, 1);
group.barrier();
console.log(JSON.stringify({ sum: sum.tolist(), max: max.tolist(), broadcast: shared.tolist() }));
group.destroy();
