package main

import (
	"log/slog"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
)

// filesReserved are the open files kept for the input, the report, the
// undo file, the logs and the sandbox, beside the connections.
const filesReserved = 64

// fitConcurrency is the pool's ceiling: --concurrency, or the automatic
// one, but never more connections than the open-files limit allows (it
// says so when it has to lower it).
func fitConcurrency(asked int, rate float64, filesPerConn int, log *slog.Logger) int {
	n := asked
	if n == 0 {
		n = pace.AutoConcurrency(rate)
	}
	if limit := openFilesLimit(); limit > 0 && n > (limit-filesReserved)/filesPerConn {
		fit := max(1, (limit-filesReserved)/filesPerConn)
		log.Warn("fewer requests in flight than asked: the open-files limit (ulimit -n) allows no more connections", "asked", n, "concurrency", fit, "open_files_limit", limit)
		n = fit
	}
	return n
}
