export * from "../../src/local/secretOutputs"; // moved: the shipped demo runs it too
