export { initProcessGroup, ProcessGroup, type ReduceOp, type InitOptions } from "./process_group.js";
