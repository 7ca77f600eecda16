export * from "../../src/local/mocks"; // moved: the shipped demo runs it too
