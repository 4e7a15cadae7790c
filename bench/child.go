package main

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/datagen"
)

// child runs one baseline side in its own process.
func child(role string, args []string) {
	var err error
	switch role {
	case "produce":
		err = childProduce(args)
	case "consume":
		err = childConsume(args)
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		log.Fatalf("child %s: %v", role, err)
	}
}

// childProduce sends the records datagen would generate with a plain
// franz-go producer set up as Sluice's runtime sets up its own (idempotent,
// acks=all, 5 ms linger, 1 MiB batches, no compression): brokers topic count size.
func childProduce(args []string) error {
	brokers, topic := strings.Split(args[0], ","), args[1]
	n, _ := strconv.ParseInt(args[2], 10, 64)
	size := args[3]
	p := datagen.Plugin()
	cfg := map[string]string{"topic": topic, "records.total": strconv.FormatInt(n, 10), "record.bytes": size}
	tasks, err := p.TaskConfigs(connectors.NewConfig(p.Spec, cfg), 1)
	if err != nil {
		return err
	}
	src := p.NewSource()
	ctx := context.Background()
	if err := src.Open(ctx, connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, tasks[0])}}); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000), kgo.MaxBufferedBytes(32<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	var failed error
	promise := func(_ *kgo.Record, err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	for sent := int64(0); sent < n; {
		recs, err := src.Poll(ctx)
		if err != nil {
			return err
		}
		krs := make([]kgo.Record, len(recs))
		for i := range recs {
			krs[i] = kgo.Record{Topic: topic, Value: recs[i].Value}
			cl.Produce(ctx, &krs[i], promise)
		}
		sent += int64(len(recs))
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	return failed
}

// childConsume reads count records from the start of topic and writes one
// line per value to out, then syncs: brokers topic out count.
func childConsume(args []string) error {
	brokers, topic, out := strings.Split(args[0], ","), args[1], args[2]
	n, _ := strconv.ParseInt(args[3], 10, 64)
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	for got := int64(0); got < n; {
		fs := cl.PollRecords(ctx, 5000)
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			w.Write(r.Value)
			w.WriteByte('\n')
			got++
		})
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
