export * from "../../src/local/awsEmulator"; // moved: the shipped demo runs it too
