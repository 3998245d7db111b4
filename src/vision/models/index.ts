export { resnet18Small, Residual } from "./resnet_d2l.js";
