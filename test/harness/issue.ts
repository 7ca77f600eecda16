export * from "../../src/local/issue"; // moved: the shipped demo runs it too
