// Fashion-MNIST for the seed-parity test (tests/seeds.test.ts), built the same way on
// the main thread and in DataLoader workers: image i as float32 in [0, 1] (x.float() / 255,
// as the fixture script), augmented by RandomResizedCrop(28, scale (0.5, 1)) and
// RandomHorizontalFlip, which draw from PyTorch's generator (a worker's own in a worker).
import * as torch from "../../src/index.js";
import { transforms as T } from "../../src/vision/index.js";
import { loadFashionMnist } from "../../src/vision/datasets/fashion_mnist.js";
import type { Dataset } from "../../src/data/index.js";

export function augment(): InstanceType<typeof T.Compose> {
  return new T.Compose([new T.RandomResizedCrop(28, { scale: [0.5, 1.0], antialias: false }), new T.RandomHorizontalFlip()]);
}

export class FashionMnist implements Dataset<[torch.Tensor, torch.Tensor]> {
  private readonly images: torch.Tensor;
  private readonly labels: torch.Tensor;
  private readonly transform = augment();
  constructor(readonly length: number) {
    const { images, labels } = loadFashionMnist();
    this.images = images;
    this.labels = labels;
  }
  get(i: number): [torch.Tensor, torch.Tensor] {
    return torch.tidy(() => [this.transform.forward(this.images.index(i).float().div(255)), this.labels.index(i)]);
  }
}

export function createDataset(args: { n: number }): FashionMnist {
  return new FashionMnist(args.n);
}
