export * from "../../src/local/program"; // moved: the shipped demo runs it too
