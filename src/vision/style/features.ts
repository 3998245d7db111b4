// What style transfer asks of a network: the feature maps of an image at its
// content layers and at its style layers (d2l 14.12's extract_features).
import type { Tensor } from "../../tensor/index.js";
import type { GramMethod } from "./gram.js";

export interface StyleFeatures {
  /** The feature maps of a (1, 3, H, W) ImageNet-normalised image: content layers' and style layers', in order. */
  extract(x: Tensor): { contents: Tensor[]; styles: Tensor[] };
  /** A short description for progress lines and READMEs. */
  readonly description: string;
  /** How the Gram matrices of these maps are computed (gram()'s method; the book's "matmul" if absent). */
  readonly gramMethod?: GramMethod;
  /** Frees the network's tensors. */
  dispose(): void;
}
