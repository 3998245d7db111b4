// A dataset module whose createDataset fails (the DataLoader must report it, not hang).
export function createDataset(): never {
  throw new Error("no such data folder: /nowhere");
}
