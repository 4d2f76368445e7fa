// The HTTP suite against the benchmark's reference Durable Object (bench/edge-reference.mjs):
// the benchmark compares evstore with a store that keeps the same guarantees.
process.env.EDGE_STORE = "reference";
await import("./http.test.mjs");
