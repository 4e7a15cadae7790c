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
	if tracing.Enabled() && service != "sluice-cli" {
		slog.Info("exporting traces (OTEL_* environment)", "service", service)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			slog.Warn("flush traces", "err", err)
		}
	}, nil
}

// The CLI's traces: set up with its first client, flushed before it exits.
var cliTraces func()

func startCLITraces() error {
	if cliTraces != nil {
		return nil
	}
	stop, err := startTracing(context.Background(), "sluice-cli")
	if err != nil {
		return err
	}
	cliTraces = stop
	return nil
}

func flushCLITraces() {
	if cliTraces != nil {
		cliTraces()
	}
}
