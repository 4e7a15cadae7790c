package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/tracing"
)

// startTracing exports this process's traces when the OTEL_* environment
// asks for it (see internal/tracing); the returned function flushes them.
func startTracing(ctx context.Context, service string) (func(), error) {
	shutdown, err := tracing.Setup(ctx, service)
	if err != nil {
		return func() {}, &exitError{2, err.Error()}
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			slog.Warn("flush traces", "err", err)
		}
	}, nil
}
