export * from "../../src/local/randomEmulator"; // moved: the shipped demo runs it too
