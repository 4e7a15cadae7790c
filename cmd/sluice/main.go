// Command sluice is Sluice's one binary: the control plane, the agent, an
// all-in-one dev mode, and the CLI that drives a running cluster.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/agent"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/controlplane"
	"github.com/sluicehq/sluice/internal/tracing"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code and a message already fit for people.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	agent.Version = version
	controlplane.Version = version
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRoot()
	err := root.ExecuteContext(ctx)
	stop()
	flushCLITraces()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "sluice: "+ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "sluice: "+err.Error())
		os.Exit(1)
	}
}

type globalFlags struct {
	server    string
	token     string
	caFile    string
	timeout   time.Duration
	output    string
	logLevel  string
	logFormat string
}

func newRoot() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Move data between Kafka and other systems, the way Kafka Connect does, with a control plane and agents",
		Long: `Sluice runs Kafka Connect-style connectors: a control plane keeps connector
configs and state in etcd and schedules tasks onto agents, which move the data
with Kafka.

Start everything in one process:
  sluice dev                      # etcd, control plane, an agent and a Kafka-protocol broker
Then, from another terminal:
  sluice connector apply -f connector.yaml
  sluice connector status NAME
  sluice agent list

In production, run replicas of 'sluice controlplane' against an etcd cluster
and 'sluice agent' next to your data.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return setupLogging(g)
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		newControlPlaneCmd(),
		newAgentCmd(g),
		newDevCmd(),
		newConnectorCmd(g),
		newOffsetsCmd(g),
		newPluginsCmd(g),
		newClusterCmd(g),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
		},
	)
	return root
}

// logLevel is the process's log level; the control plane's
// /admin/loggers changes it at run time.
var logLevel = new(slog.LevelVar)

func setupLogging(g *globalFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return &exitError{2, fmt.Sprintf("--log-level %q: want debug, info, warn or error", g.logLevel)}
	}
	logLevel.Set(level)
	opts := &slog.HandlerOptions{Level: logLevel}
	var h slog.Handler
	switch strings.ToLower(g.logFormat) {
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return &exitError{2, fmt.Sprintf("--log-format %q: want text or json", g.logFormat)}
	}
	slog.SetDefault(slog.New(tracing.LogHandler(h)))
	return nil
}

// addServerFlags adds --server, --token, --ca-file, --timeout and -o to a
// CLI verb.
func addServerFlags(cmd *cobra.Command, g *globalFlags) {
	cmd.Flags().StringVar(&g.server, "server", "", "control plane URL (default $"+client.EnvServer+" or "+client.DefaultAddress+")")
	cmd.Flags().StringVar(&g.token, "token", "", "API token, sent as a bearer token (default $"+client.EnvToken+")")
	cmd.Flags().StringVar(&g.caFile, "ca-file", "", "PEM file of the CA that signed the control plane's certificate, for https:// (default: the system's roots)")
	cmd.Flags().DurationVar(&g.timeout, "timeout", 30*time.Second, "how long to wait for each answer of the control plane")
	cmd.Flags().StringVarP(&g.output, "output", "o", "table", "output format: table, json or yaml")
}

func (g *globalFlags) client() (*client.Client, error) {
	token := g.token
	if token == "" {
		token = os.Getenv(client.EnvToken)
	}
	opts := []client.Option{client.WithToken(token), client.WithTimeout(g.timeout)}
	if g.caFile != "" {
		pem, err := os.ReadFile(g.caFile)
		if err != nil {
			return nil, &exitError{2, fmt.Sprintf("--ca-file: %v", err)}
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, &exitError{2, fmt.Sprintf("--ca-file %s: no PEM certificate in it", g.caFile)}
		}
		opts = append(opts, client.WithTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	}
	// With OTEL_* set, each call is a client span, and the control plane
	// continues its trace.
	if err := startCLITraces(); err != nil {
		return nil, err
	}
	opts = append(opts, client.WithClientOptions(tracing.ClientOptions()...))
	c, err := client.New(g.server, opts...)
	if err != nil {
		return nil, &exitError{2, err.Error()}
	}
	return c, nil
}

// apiError turns an API error into an exitError for people.
func (g *globalFlags) apiError(err error) error {
	return &exitError{1, client.Describe(err, client.Address(g.server))}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
