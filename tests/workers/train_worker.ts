// Trains the engine-test problem in a run folder and kills itself with SIGKILL
// at a given global step: tests/engine.test.ts then resumes the run.
import { Trainer } from "../../src/engine/index.js";
import { makeProblem, parts } from "./train_problem.js";

const [dir, epochs, killAtStep] = process.argv.slice(2);
const problem = makeProblem(0);
await new Trainer({
  ...parts(problem), epochs: Number(epochs), runDir: dir, output: "silent",
  callbacks: { onStepEnd: ({ step }) => { if (step === Number(killAtStep)) process.kill(process.pid, "SIGKILL"); } },
}).fit(problem.data);
