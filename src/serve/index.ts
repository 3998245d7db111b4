// flare serve: a local, read-only web viewer of run folders (live curves, images, config).
export { serveRuns, DEFAULT_PORT, DEFAULT_HOST, type ServeOptions, type RunsServer } from "./server.js";
export { listRuns, type RunSummary } from "./runs.js";
