package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/agent"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/controlplane"
)

func newDevCmd() *cobra.Command {
	var (
		dataDir, listen, kafka, kafkaListen, etcdListen string
		demo                                            bool
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: etcd, a control plane, an agent and a Kafka-protocol broker",
		Long: `Run Sluice on one machine in one process: an embedded etcd, a control plane
on --listen, one agent named dev-agent, and, unless --kafka names a real
cluster, an in-process Kafka-protocol broker on 127.0.0.1:9092 that Kafka tools
can talk to (topics are created on first use with one partition, as a default
Kafka broker does). State is kept in --data-dir, so a restart picks up where
it left off.

With --demo it also creates a demo pipeline: datagen -> topic sluice-demo ->
file-sink writing <data-dir>/demo-out.txt.

Prometheus metrics, the control plane's and the agent's, are served at
/metrics on --listen (docs/metrics.md).`,
		Example: `  sluice dev
  sluice dev --demo
  sluice dev --kafka 127.0.0.1:9092 --data-dir /tmp/sluice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stopTracing, err := startTracing(ctx, "sluice-dev")
			if err != nil {
				return err
			}
			defer stopTracing()
			if err := os.MkdirAll(dataDir, 0o755); err != nil {
				return &exitError{2, fmt.Sprintf("--data-dir: %v", err)}
			}
			brokers := splitList(kafka)
			if len(brokers) == 0 {
				host, portS, err := net.SplitHostPort(kafkaListen)
				port, perr := strconv.Atoi(portS)
				if err != nil || perr != nil || (host != "127.0.0.1" && host != "localhost") {
					return &exitError{2, fmt.Sprintf("--kafka-listen %q: want 127.0.0.1:PORT", kafkaListen)}
				}
				kc, err := kfake.NewCluster(
					kfake.Ports(port),
					kfake.AllowAutoTopicCreation(),
					kfake.DefaultNumPartitions(1),
					kfake.DataDir(filepath.Join(dataDir, "kafka")),
				)
				if err != nil {
					return &exitError{1, fmt.Sprintf("start the in-process Kafka broker on %s: %v (is a broker already there? then pass --kafka %s)", kafkaListen, err, kafkaListen)}
				}
				defer kc.Close()
				brokers = kc.ListenAddrs()
				slog.Info("in-process Kafka-protocol broker listening", "addr", brokers)
			}

			reg := builtin.Registry()
			cp, err := controlplane.New(controlplane.Config{
				Listen:        listen,
				Name:          "dev",
				DataDir:       filepath.Join(dataDir, "etcd"),
				EtcdListen:    etcdListen,
				SessionTTL:    10 * time.Second,
				ReassignDelay: 10 * time.Second,
				Kafka:         brokers,
				Registry:      reg,
				Logger:        slog.Default(),
				LogLevel:      logLevel,
			})
			if err != nil {
				return &exitError{2, err.Error()}
			}
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return cp.Run(gctx) })
			select {
			case <-cp.Ready():
			case <-gctx.Done():
				return g.Wait()
			}
			server := "http://" + cp.Addr()
			a, err := agent.New(agent.Config{
				Servers:  []string{server},
				Name:     "dev-agent",
				Labels:   map[string]string{"mode": "dev"},
				Brokers:  brokers,
				Registry: reg,
				Logger:   slog.Default(),
				LogLevel: logLevel,
			})
			if err != nil {
				return &exitError{2, err.Error()}
			}
			g.Go(func() error { return a.Run(gctx) })
			if demo {
				if err := applyDemo(gctx, server, dataDir); err != nil {
					slog.Error("demo pipeline not created", "err", err)
				}
			}
			printDevHelp(cmd, server, brokers, dataDir, demo)
			err = g.Wait()
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "sluice-dev-data", "directory for etcd's and the in-process broker's data")
	f.StringVar(&listen, "listen", controlplane.DefaultListen, "address of the API")
	f.StringVar(&kafka, "kafka", "", "use this Kafka cluster (comma-separated host:port) instead of the in-process broker")
	f.StringVar(&kafkaListen, "kafka-listen", "127.0.0.1:9092", "address of the in-process broker")
	f.StringVar(&etcdListen, "etcd-listen", "auto", "client address of the embedded etcd (auto: a free port)")
	f.BoolVar(&demo, "demo", false, "create a demo pipeline: datagen -> Kafka -> file-sink")
	return cmd
}

// applyDemo creates datagen -> sluice-demo -> file-sink.
func applyDemo(ctx context.Context, server, dataDir string) error {
	c, err := client.New(server)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(filepath.Join(dataDir, "demo-out.txt"))
	if err != nil {
		return err
	}
	for _, req := range []*sluicev1.ApplyConnectorRequest{
		{Name: "demo-datagen", Config: map[string]string{
			"connector.class": "datagen", "topic": "sluice-demo", "tasks.max": "2",
			"records.per.second": "20", "record.bytes": "64", "value.converter": "string", "key.converter": "string",
		}},
		{Name: "demo-file-sink", Config: map[string]string{
			"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "sluice-demo",
			"file": out, "value.converter": "string", "key.converter": "string",
		}},
	} {
		req.Config["name"] = req.Name
		if _, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(req)); err != nil {
			return fmt.Errorf("apply %s: %w", req.Name, err)
		}
	}
	return nil
}

func printDevHelp(cmd *cobra.Command, server string, brokers []string, dataDir string, demo bool) {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, `
Sluice dev is running.
  API (gRPC, gRPC-Web, Connect):  %s
  Prometheus metrics:             %s/metrics
  Kafka:                          %v
  data:                           %s

Try, from another terminal:
  bin/sluice agent list
  bin/sluice connector list
`, server, server, brokers, dataDir)
	if demo {
		fmt.Fprintf(w, `  bin/sluice connector status demo-datagen
  bin/sluice connector status demo-file-sink -o json
  tail -f %s
  curl -s %s/metrics | grep -E '^sluice_(source_record_write|sink_record_send)_total'
`, filepath.Join(dataDir, "demo-out.txt"), server)
	}
	fmt.Fprintf(w, `  grpcurl -plaintext %s list
  bin/sluice connector apply -f examples/file-copy.yaml

Stop with Ctrl-C; state is kept in %s.

`, server[len("http://"):], dataDir)
}
