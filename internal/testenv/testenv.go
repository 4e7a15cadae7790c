// Package testenv gives integration tests the real servers `make test`
// starts: a Kafka broker (SLUICE_TEST_KAFKA) and an etcd (SLUICE_TEST_ETCD).
// Without them a test skips, unless SLUICE_TEST_REQUIRE=1 (as under `make
// test` and CI), where it fails: a missing server never passes silently.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func server(t testing.TB, env, what, how string) []string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(env))
	miss := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if v == "" {
		miss("no %s: set %s, or run `make test` (it starts one with %s)", what, env, how)
	}
	addrs := strings.Split(v, ",")
	c, err := net.DialTimeout("tcp", addrs[0], 2*time.Second)
	if err != nil {
		miss("%s at %s does not answer (%v): start it with %s", what, addrs[0], err, how)
	}
	c.Close()
	return addrs
}

// Kafka returns the brokers of the test Kafka cluster.
func Kafka(t testing.TB) []string {
	t.Helper()
	return server(t, "SLUICE_TEST_KAFKA", "Kafka broker", "deploy/local/kafka.sh start")
}

// Etcd returns the endpoints of the test etcd.
func Etcd(t testing.TB) []string {
	t.Helper()
	return server(t, "SLUICE_TEST_ETCD", "etcd", "deploy/local/etcd.sh start")
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func unique(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := unsafe.ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	return strings.ToLower(name) + "-" + hex.EncodeToString(b)
}

// EtcdPrefix returns a key prefix of this test's own.
func EtcdPrefix(t testing.TB) string {
	return "/sluice-test/" + unique(t) + "/"
}

// NewTopic creates a topic of this test's own and deletes it afterwards.
func NewTopic(t testing.TB, brokers []string, partitions int) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	topic := unique(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		cl.Close()
		t.Fatalf("create topic %s: %v", topic, err)
	}
	WaitFor(t, 30*time.Second, "topic "+topic+" to have leaders", func() bool {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false
		}
		td, ok := md.Topics[topic]
		if !ok || td.Err != nil || len(td.Partitions) != partitions {
			return false
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || p.Err != nil {
				return false
			}
		}
		return true
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopics(ctx, topic)
		cl.Close()
	})
	return topic
}

// WaitFor polls cond until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(wait)
		wait = min(wait*3/2, 250*time.Millisecond)
	}
}

// FreeAddr returns a loopback address with a port free now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Produce writes records synchronously.
func Produce(t testing.TB, brokers []string, topic string, records ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// Consume reads n records from the start of topic.
func Consume(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s in %s", len(out), n, topic, timeout)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch %s: %v", topic, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// ReadCommitted reads a topic, read committed, up to its last stable offset
// as of the call, and returns its data records (transaction markers are
// read too, to know where each partition ends, but not returned).
func ReadCommitted(t testing.TB, brokers []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v (partitions left %v)", topic, ctx.Err(), left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}
