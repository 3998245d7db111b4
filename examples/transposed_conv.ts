// d2l 14.10, "Transposed Convolution", step by step in flare: the operation by
// hand (each input element scatters X[i, j]·K into the output), the same through
// nn.ConvTranspose2d, padding (removed from the output), stride (on the
// intermediate results), channels and the shape round trip with a convolution,
// then the matrix view: a convolution is y = W·vec(x) and the transposed
// convolution multiplies by Wᵀ (F.convMatrix is the book's kernel2matrix).
// No data or training, so it runs the same with and without tiny settings:
//
//   node dist/examples/transposed_conv.js
//   FLARE_EXAMPLE_TINY=1 node dist/examples/transposed_conv.js
import * as torch from "../src/index.js";
import { nn, F } from "../src/index.js";

type Tensor = torch.Tensor;

/** The basic transposed convolution (stride 1, no padding, one channel), as the book writes it. */
function transConv(X: Tensor, K: Tensor): Tensor {
  const [h, w] = K.shape;
  const Y = torch.zeros([X.shape[0] + h - 1, X.shape[1] + w - 1]);
  for (let i = 0; i < X.shape[0]; i++) {
    for (let j = 0; j < X.shape[1]; j++) {
      // Y[i:i + h, j:j + w] += X[i, j] * K (a slice is a view, so add_ writes into Y).
      torch.tidy(() => { Y.index(`${i}:${i + h}`, `${j}:${j + w}`).add_(K.mul(X.index(i, j))); });
    }
  }
  return Y;
}

/** A ConvTranspose2d(1, 1) without bias whose kernel is K. */
function tconvWith(K: Tensor, options: { padding?: number; stride?: number } = {}): nn.ConvTranspose2d {
  const tconv = new nn.ConvTranspose2d(1, 1, K.shape[0], { ...options, bias: false });
  torch.noGrad(() => { tconv.weight.copy_(K.reshape(1, 1, ...K.shape)); });
  return tconv;
}

/** The book's corr2d: the 2-D cross-correlation by hand. */
function corr2d(X: Tensor, K: Tensor): Tensor {
  const [h, w] = K.shape;
  const Y = torch.zeros([X.shape[0] - h + 1, X.shape[1] - w + 1]);
  for (let i = 0; i < Y.shape[0]; i++) {
    for (let j = 0; j < Y.shape[1]; j++) {
      torch.tidy(() => { Y.indexPut_([i, j], X.index(`${i}:${i + h}`, `${j}:${j + w}`).mul(K).sum()); });
    }
  }
  return Y;
}

torch.tidy(() => {
  // 14.10.1: the basic operation.
  let X = torch.tensor([[0.0, 1.0], [2.0, 3.0]]);
  let K = torch.tensor([[0.0, 1.0], [2.0, 3.0]]);
  console.log(`trans_conv(X, K) = ${transConv(X, K)}`);

  // The same through the layer, on 4-D input.
  X = X.reshape(1, 1, 2, 2);
  K = K.reshape(1, 1, 2, 2);
  const tconv = tconvWith(K.reshape(2, 2));
  console.log(`ConvTranspose2d(1, 1, 2) = ${tconv.forward(X).detach()}`);

  // 14.10.2: padding is removed from the output; stride spreads the intermediate results.
  console.log(`padding=1: ${tconvWith(K.reshape(2, 2), { padding: 1 }).forward(X).detach()}`);
  console.log(`stride=2: ${tconvWith(K.reshape(2, 2), { stride: 2 }).forward(X).detach()}`);

  // Channels: a convolution and a transposed convolution with the same settings invert each other's shapes.
  torch.manualSeed(0);
  const X10 = torch.rand([1, 10, 16, 16]);
  const conv = new nn.Conv2d(10, 20, 5, { padding: 2, stride: 3 });
  const tconv10 = new nn.ConvTranspose2d(20, 10, 5, { padding: 2, stride: 3 });
  const back = tconv10.forward(conv.forward(X10));
  console.log(`tconv(conv(X)).shape == X.shape: ${back.shape.join(",") === X10.shape.join(",") ? "True" : "False"} ([${back.shape.join(", ")}])`);
  conv.dispose(); tconv10.dispose(); tconv.dispose();

  // 14.10.3: the matrix view.
  const X9 = torch.arange(9).float().reshape(3, 3);
  const K2 = torch.tensor([[1.0, 2.0], [3.0, 4.0]]);
  const Y = corr2d(X9, K2);
  console.log(`corr2d(X, K) = ${Y}`);
  const W = F.convMatrix(K2, [3, 3]);   // the book's kernel2matrix(K)
  console.log(`kernel2matrix(K) = ${W}`);
  const viaMatrix = W.matmul(X9.reshape(-1)).reshape(2, 2);
  console.log(`Y == matmul(W, X.reshape(-1)).reshape(2, 2): ${Y.eq(viaMatrix).all().item() ? "True" : "False"}`);
  const Z = transConv(Y, K2);
  const viaTranspose = W.t().matmul(Y.reshape(-1)).reshape(3, 3);
  console.log(`trans_conv(Y, K) == matmul(W.T, Y.reshape(-1)).reshape(3, 3): ${Z.eq(viaTranspose).all().item() ? "True" : "False"}`);
});
