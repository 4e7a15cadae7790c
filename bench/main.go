// Command bench measures Sluice's data path side by side with baselines
// measured in the same run, on the same Kafka broker: the raw franz-go client
// doing the same work, and Apache Kafka Connect's standalone worker with its
// FileStream connectors. Runs alternate between Sluice and each baseline so
// that machine noise hits both.
//
// Every side runs as its own process: CPU seconds and peak RSS come from the
// kernel's accounting of that process (getrusage), throughput from watching
// Kafka's end offsets or the output file from outside, between the first
// record and the last.
//
//	make bench                      # every scenario, results in bench/results/
//	go run ./bench -scenarios source,sink -mb 50 -runs 1
//
// It needs a Kafka broker (deploy/local/kafka.sh start; make bench does it)
// and installs Kafka Connect's jars on first use.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	brokers   []string
	scenarios []string
	sizes     []int
	mb        int
	fileMB    int
	runs      int
	out       string
	sluice    string
	work      string
	connects  int
	connect   bool
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "child" {
		child(os.Args[2], os.Args[3:])
		return
	}
	var (
		o         options
		brokers   string
		scenarios string
		sizes     string
	)
	flag.StringVar(&brokers, "kafka", "127.0.0.1:9092", "Kafka brokers")
	flag.StringVar(&scenarios, "scenarios", "source,sink,file-source,startup,many", "scenarios to run: source, sink, file-source, startup, many, cdc (PostgreSQL, see bench/README.md)")
	flag.StringVar(&sizes, "sizes", "100,1024", "record sizes in bytes")
	flag.IntVar(&o.mb, "mb", 200, "megabytes of record values per source and sink run (at least half a million records)")
	flag.IntVar(&o.fileMB, "file-mb", 1024, "size of the file-source scenario's log file in megabytes")
	flag.IntVar(&o.runs, "runs", 3, "runs per side (alternating); each side reports its median")
	flag.IntVar(&o.connects, "connectors", 50, "connectors in the many scenario")
	flag.BoolVar(&o.connect, "kafka-connect", true, "also measure Apache Kafka Connect (installs its jars on first use)")
	flag.StringVar(&o.out, "out", "bench/results", "where to write results.md, results.json and the charts")
	flag.StringVar(&o.sluice, "sluice", "bin/sluice", "the sluice binary (make build)")
	flag.StringVar(&o.work, "work", "bench/work", "scratch directory (files, logs)")
	flag.Parse()
	o.brokers = strings.Split(brokers, ",")
	o.scenarios = strings.Split(scenarios, ",")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			log.Fatalf("-sizes: %q is not a size of at least 10 bytes", s)
		}
		o.sizes = append(o.sizes, n)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		killAll()
		os.Exit(130)
	}()
	if err := run(context.Background(), o); err != nil {
		killAll()
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var err error
	if o.sluice, err = filepath.Abs(o.sluice); err != nil {
		return err
	}
	if o.work, err = filepath.Abs(o.work); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env := &env{o: o, self: self, started: time.Now()}
	if o.connect {
		out, err := exec.Command("deploy/local/kafka.sh", "connect-libs").Output()
		if err != nil {
			return fmt.Errorf("install Kafka Connect: %w", err)
		}
		env.connectLibs = strings.TrimSpace(string(out))
	}
	if err := env.startControlPlane(ctx); err != nil {
		return err
	}
	defer env.stopControlPlane()
	rep := newReport(o)
	for _, sc := range o.scenarios {
		sc = strings.TrimSpace(sc)
		log.Printf("scenario %s", sc)
		var rows []row
		var err error
		switch sc {
		case "source":
			rows, err = env.sourceScenario(ctx)
		case "sink":
			rows, err = env.sinkScenario(ctx)
		case "file-source":
			rows, err = env.fileSourceScenario(ctx)
		case "startup":
			rows, err = env.startupScenario(ctx)
		case "many":
			rows, err = env.manyScenario(ctx)
		case "cdc": // its own cdc.md and cdc.json
			err = env.cdcScenario(ctx)
		default:
			return fmt.Errorf("unknown scenario %q", sc)
		}
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc, err)
		}
		rep.add(rows...)
		fmt.Print(rep.table(rows))
	}
	if len(rep.Rows) == 0 {
		return nil // keep the last results.md
	}
	return rep.write(o.out)
}
