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
  output?: OutputMode;
}
