// Known failures: input families that still break issue 10's promise and whose
// fix lives in files this suite's authors may not change yet (src/tensor/**,
// native/**, src/data/dataloader.ts). Listed here, explicitly, so a fuzz run
// reports them as known — not hidden, not passing. Remove an entry once fixed:
// the suite then holds that family to "FlareError or ok".
import type { Finding } from "./harness.js";

export interface KnownFailure { target: string; kind: string; why: string }

export const KNOWN_FAILURES: readonly KnownFailure[] = [
];

export function isKnown(f: Pick<Finding, "target" | "kind">): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.target === f.target && k.kind === f.kind);
}
