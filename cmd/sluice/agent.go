package main

import (
	"context"
	"fmt"
	"log/slog"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/agent"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/connectors/configprovider"
	"github.com/sluicehq/sluice/internal/placement"
)

func newAgentCmd(g *globalFlags) *cobra.Command {
	var (
		servers, kafka, labels string
		providers              string
		allowedPaths           string
		envAllowlist           string
		pprofAddr              string
		metricsAddr            string
		cfg                    agent.Config
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent that executes connector tasks (or list agents: sluice agent list)",
		Long: `Run an agent. It opens a session with a control plane replica, registers
under --name with its --labels, and runs the tasks it is assigned, moving data
through the Kafka cluster given by --kafka. If the control plane goes away, the
agent keeps its tasks running and reconnects, trying each replica in turn.

With --metrics ADDR it serves Prometheus metrics at http://ADDR/metrics: its
tasks' Kafka Connect metrics (records polled, written, read and sent, sink
lag, batch and commit times, errors) and its tasks by state (docs/metrics.md).
Off by default, so that several agents can share a host.`,
		Example: `  sluice agent --server http://127.0.0.1:8083 --kafka 127.0.0.1:9092 --name agent-1 --labels region=eu-west-1,zone=b
  sluice agent --server http://cp-1:8083 --kafka kafka-1:9092 --name agent-2 --metrics :9464
  sluice agent list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopTracing, err := startTracing(cmd.Context(), "sluice-agent")
			if err != nil {
				return err
			}
			defer stopTracing()
			cfg.Servers = splitList(servers)
			cfg.Brokers = splitList(kafka)
			l, err := placement.ParseLabels(labels)
			if err != nil {
				return &exitError{2, "--labels: " + err.Error()}
			}
			cfg.Labels = l
			cfg.ConfigProviders, err = configprovider.NewProviders(append([]string{}, splitList(providers)...), // empty: none
				splitList(allowedPaths), envAllowlist)
			if err != nil {
				return &exitError{2, "--config-provider-*: " + err.Error()}
			}
			cfg.Registry = builtin.Registry()
			cfg.Logger = slog.Default()
			cfg.LogLevel = logLevel
			a, err := agent.New(cfg)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr); err != nil {
					return &exitError{2, "--pprof: " + err.Error()}
				}
			}
			if metricsAddr != "" {
				if err := serveMetrics(cmd.Context(), metricsAddr); err != nil {
					return &exitError{2, "--metrics: " + err.Error()}
				}
			}
			slog.Info("agent starting", "agent", a.Name(), "servers", cfg.Servers, "kafka", cfg.Brokers)
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&servers, "server", "http://127.0.0.1:8083", "control plane replica URLs, comma-separated")
	f.StringVar(&kafka, "kafka", "", "Kafka seed brokers, comma-separated host:port (required)")
	f.StringVar(&cfg.Name, "name", "", "the agent's name, stable across restarts (default: host name)")
	f.StringVar(&labels, "labels", "", "labels for placement, comma-separated key=value")
	f.IntVar(&cfg.Capacity, "capacity", 0, "most tasks this agent runs (0: no limit)")
	f.StringVar(&providers, "config-providers", "env,file,directory,dir", "config providers whose ${provider:...} placeholders in connector configs this agent resolves when a task starts (Kafka Connect's syntax: ${env:NAME}, ${file:/path/file.properties:key}, ${directory:/path/dir:file} or ${dir:...}); empty disables them")
	f.StringVar(&allowedPaths, "config-provider-allowed-paths", "", "absolute paths, comma-separated: the file and directory providers read only files under them (Kafka's allowed.paths; default: anywhere)")
	f.StringVar(&envAllowlist, "config-provider-env-allowlist", "", "regular expression an environment variable's whole name must match for ${env:...} to read it (Kafka's allowlist.pattern; default: any)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the agent's local state: offsets not yet reported when it stopped (default: none kept)")
	f.StringVar(&pprofAddr, "pprof", "", "serve Go's profiles (net/http/pprof) on this address, for example 127.0.0.1:6060")
	f.StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, for example 127.0.0.1:9464 (docs/metrics.md; the control plane serves its own on its API port)")
	_ = cmd.MarkFlagRequired("kafka")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the agents that hold a session",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Cluster.ListAgents(cmd.Context(), connect.NewRequest(&sluicev1.ListAgentsRequest{}))
			if err != nil {
				return g.apiError(err)
			}
			return printAgents(cmd.Context(), cmd.OutOrStdout(), g.output, res.Msg.GetAgents())
		},
	}
	addServerFlags(list, g)
	cmd.AddCommand(list)
	return cmd
}

func printAgents(_ context.Context, w interface{ Write([]byte) (int, error) }, format string, agents []*sluicev1.Agent) error {
	if format != "table" {
		return printStructured(w, format, agentsJSON(agents))
	}
	t := newTable(w, "NAME", "REPLICA", "TASKS", "LABELS", "CONNECTED")
	for _, a := range agents {
		t.row(a.GetName(), a.GetReplica(), fmt.Sprint(len(a.GetTasks())), placement.FormatLabels(a.GetLabels()), since(a.GetConnectTime().AsTime()))
	}
	return t.flush()
}

func agentsJSON(agents []*sluicev1.Agent) []map[string]any {
	out := []map[string]any{}
	for _, a := range agents {
		tasks := []map[string]any{}
		for _, t := range a.GetTasks() {
			tasks = append(tasks, map[string]any{"connector": t.GetConnector(), "task": t.GetTask()})
		}
		out = append(out, map[string]any{
			"name": a.GetName(), "labels": a.GetLabels(), "version": a.GetVersion(), "capacity": a.GetCapacity(),
			"replica": a.GetReplica(), "connect_time": a.GetConnectTime().AsTime(), "tasks": tasks,
		})
	}
	return out
}
