package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/controlplane"
)

func newControlPlaneCmd() *cobra.Command {
	var (
		cfg                    controlplane.Config
		etcd, kafka, pprofAddr string
	)
	cmd := &cobra.Command{
		Use:   "controlplane",
		Short: "Run a control plane replica: the API, agent sessions and (when elected) the scheduler",
		Long: `Run a control plane replica. It serves the API (gRPC, gRPC-Web and the
Connect protocol on one port, with reflection and health), holds agent
sessions, and, when elected leader through etcd, schedules tasks onto agents.

Without --etcd it runs an embedded single-node etcd in --data-dir: fine for one
machine. With --etcd it uses that cluster, and any number of replicas can
share it.

Prometheus metrics are served at /metrics on the API port: the replica's
sessions, leadership and etcd latency, and, from the leader, every
connector's tasks by state and the agents live, draining or lost
(docs/metrics.md).`,
		Example: `  sluice controlplane
  sluice controlplane --listen 127.0.0.1:8083 --etcd 127.0.0.1:2379 --name cp-1 --kafka 127.0.0.1:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr); err != nil {
					return &exitError{2, "--pprof: " + err.Error()}
				}
			}
			stopTracing, err := startTracing(cmd.Context(), "sluice-controlplane")
			if err != nil {
				return err
			}
			defer stopTracing()
			cfg.Etcd = splitList(etcd)
			cfg.Kafka = splitList(kafka)
			cfg.Registry = builtin.Registry()
			cfg.Logger = slog.Default()
			cfg.LogLevel = logLevel
			s, err := controlplane.New(cfg)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			go func() {
				select {
				case <-s.Ready():
					slog.Info("control plane ready", "listen", s.Addr(), "etcd", s.EtcdEndpoints())
				case <-cmd.Context().Done():
				}
			}()
			if err := s.Run(cmd.Context()); err != nil {
				return fmt.Errorf("control plane: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", controlplane.DefaultListen, "address to serve the API and agent sessions on")
	f.StringVar(&etcd, "etcd", "", "etcd endpoints, comma-separated (default: run an embedded etcd)")
	f.StringVar(&cfg.DataDir, "data-dir", "sluice-data", "directory of the embedded etcd's data")
	f.StringVar(&cfg.EtcdListen, "etcd-listen", "127.0.0.1:2379", "client address of the embedded etcd (\"auto\" picks a free port)")
	f.StringVar(&cfg.Prefix, "etcd-prefix", "/sluice/", "prefix of every key Sluice writes in etcd (several clusters can share one etcd)")
	f.StringVar(&cfg.Name, "name", "", "this replica's name (default host:port)")
	f.DurationVar(&cfg.SessionTTL, "session-ttl", 10*time.Second, "how long an agent stays registered without a heartbeat")
	f.DurationVar(&cfg.ReassignDelay, "reassign-delay", 30*time.Second, "how long a lost agent's tasks wait for it before moving (0 moves them at once)")
	f.DurationVar(&cfg.MoveTimeout, "move-timeout", 30*time.Second, "how long an agent has to release a task moved off it (rebalance, placement change) before it is reassigned anyway")
	f.StringVar(&pprofAddr, "pprof", "", "serve Go's profiles (net/http/pprof) on this address, for example 127.0.0.1:6061")
	f.StringVar(&kafka, "kafka", "", "Kafka seed brokers (host:port, comma-separated), for the offsets API of sink connectors")
	f.BoolVar(&cfg.DisableTopicTracking, "no-topic-tracking", false, "do not record the topics connectors use (Kafka Connect's topic.tracking.enable=false): GET /connectors/{name}/topics answers 403")
	f.BoolVar(&cfg.DisableTopicReset, "no-topic-reset", false, "refuse PUT /connectors/{name}/topics/reset with 403 (Kafka Connect's topic.tracking.allow.reset=false)")
	return cmd
}
