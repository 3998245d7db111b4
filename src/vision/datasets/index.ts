export { loadFashionMnist, readIdx, FASHION_MNIST_ROOT, FASHION_MNIST_CLASSES } from "./fashion_mnist.js";
