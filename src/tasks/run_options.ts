// The options every SGD training task (classify, segment, detect) shares.

import type { OutputMode } from "../engine/index.js";

export interface SgdRunOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: number;
  runsDir?: string;
  name?: string;
  resume?: boolean;
  /** Write the run folder's TensorBoard event file (default true). */
  tensorboard?: boolean;
  output?: OutputMode;
}
