package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// servePprof serves Go's runtime profiles (and /metrics) on addr until ctx
// ends.
func servePprof(ctx context.Context, addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if h, err := telemetry.Setup(); err == nil {
		mux.Handle("GET /metrics", h)
	}
	ln, err := serve(ctx, addr, mux)
	if err != nil {
		return err
	}
	slog.Info("serving profiles", "addr", "http://"+ln+"/debug/pprof/")
	return nil
}

// serveMetrics serves the Prometheus metrics (docs/metrics.md) on addr
// until ctx ends.
func serveMetrics(ctx context.Context, addr string) error {
	h, err := telemetry.Setup()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	ln, err := serve(ctx, addr, mux)
	if err != nil {
		return err
	}
	slog.Info("serving metrics", "url", "http://"+ln+"/metrics")
	return nil
}

// serve runs an HTTP server for mux on addr until ctx ends and returns the
// address it listens on.
func serve(ctx context.Context, addr string, mux *http.ServeMux) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
}
