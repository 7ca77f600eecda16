export * from "../../src/local/tlsEmulator"; // moved: the shipped demo runs it too
