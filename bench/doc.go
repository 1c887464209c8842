// Package bench is plivo-bulk's benchmark suite; BENCHMARKS.md at the
// repository's root gives its figures and how to run it (bench/run.sh).
//
// The package itself holds one Go benchmark, BenchmarkPipeline: the whole
// per-row path of a run (input check pass, send pass, the worker pool and
// the report writer) over a generated file, with an in-process call in place
// of HTTP, so that a CPU profile of it shows what the tool itself costs.
// The commands fastserver (a stand-in for Plivo that answers at once) and
// bareloop (the bare net/http baseline) live in cmd/.
package bench
