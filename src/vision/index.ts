// flare/vision: models and datasets (the data and detection issues add io,
// transforms and ops here).
export * as models from "./models/index.js";
export * as datasets from "./datasets/index.js";
