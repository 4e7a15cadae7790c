// Command registry serves franz-go's in-memory implementation of the
// Confluent Schema Registry API (subjects, versions, schema ids,
// compatibility settings) on one address, for local runs and tests of the
// Schema Registry converters. It keeps nothing on disk: a restart forgets
// every schema. deploy/local/registry.sh builds and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *addr, Handler: srfake.NewRegistry().Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("schema registry listening", "addr", *addr)
	select {
	case err := <-errc:
		slog.Error("schema registry stopped", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("schema registry shutdown", "err", err)
	}
}
