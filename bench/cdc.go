package main

// The cdc scenario: the same PostgreSQL change workload through Sluice's
// postgres-cdc and through Debezium's PostgreSQL connector on Apache Kafka
// Connect, against the same PostgreSQL and Kafka, with the same config
// (pgoutput, snapshot.mode=no_data, JsonConverter with schemas).
//
// Each run of a side uses a table, slot, publication and topic of its own:
//
//  1. warm-up: the side's process starts, creates the publication and the
//     slot, streams one row and stores its offset, and stops;
//  2. backlog: -cdc-rows inserts, a tenth of them updated and a twentieth
//     deleted, in transactions of -cdc-txn rows, written while nothing
//     reads the slot;
//  3. a fresh process of the side drains the backlog: events/s from the
//     first record to the last in Kafka (end offsets), and CPU in between;
//  4. live: the same process, caught up, gets -cdc-live-rate transactions
//     per second of -cdc-live-txn inserts for -cdc-live; latency is from
//     a transaction's COMMIT returning to the benchmark's consumer reading
//     that transaction's last event from Kafka;
//  5. peak RSS: the kernel's high-water mark of that second process
//     (drain and live phases, start-up included).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

const sideDebezium = "debezium"

var (
	cdcPostgres = flag.String("cdc-postgres", "postgres://sluice:sluice@127.0.0.1:5432/sluice?sslmode=disable",
		"cdc scenario: the PostgreSQL to capture (wal_level=logical, a user that may replicate and create publications)")
	cdcRows     = flag.Int("cdc-rows", 200_000, "cdc scenario: rows inserted in the backlog; a tenth of them are then updated and a twentieth deleted")
	cdcTxn      = flag.Int("cdc-txn", 1000, "cdc scenario: rows per transaction in the backlog")
	cdcLive     = flag.Duration("cdc-live", 20*time.Second, "cdc scenario: how long the live (latency) phase writes")
	cdcLiveRate = flag.Int("cdc-live-rate", 100, "cdc scenario: transactions per second in the live phase")
	cdcLiveTxn  = flag.Int("cdc-live-txn", 10, "cdc scenario: rows inserted per transaction in the live phase")
	cdcHeap     = flag.String("cdc-connect-heap", "1g", "cdc scenario: Kafka Connect's -Xmx for Debezium")
)

// cdcWorkload is what every run of every side writes.
type cdcWorkload struct {
	rows, txn, updates, deletes int
	liveTxns, liveRows          int
	liveEvery                   time.Duration
}

func newCDCWorkload() cdcWorkload {
	rate := max(*cdcLiveRate, 1)
	return cdcWorkload{rows: *cdcRows, txn: max(*cdcTxn, 1), updates: *cdcRows / 10, deletes: *cdcRows / 20,
		liveTxns: int(cdcLive.Seconds() * float64(rate)), liveRows: max(*cdcLiveTxn, 1), liveEvery: time.Second / time.Duration(rate)}
}

// backlogEvents is the records the backlog puts in Kafka: one per insert
// and update, a delete event and a tombstone per delete.
func (w cdcWorkload) backlogEvents() int64 { return int64(w.rows + w.updates + 2*w.deletes) }

func (w cdcWorkload) String() string {
	return fmt.Sprintf("%d inserts, %d updates, %d deletes in txns of %d; live %d txn/s × %d rows",
		w.rows, w.updates, w.deletes, w.txn, int(time.Second/w.liveEvery), w.liveRows)
}

// cdcResult is one side's figures for one run.
type cdcResult struct {
	Side string `json:"side"`
	// Events, Seconds and CPU: the backlog drain, from the first record
	// in Kafka to the last.
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds"`
	// LatencyP50 and LatencyP99: live phase, commit to the transaction's
	// last event read from Kafka.
	LatencyP50 float64 `json:"latency_p50_seconds"`
	LatencyP99 float64 `json:"latency_p99_seconds"`
	LiveTxns   int     `json:"live_transactions"`
	LiveCPU    float64 `json:"live_cpu_seconds"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
}

func (r cdcResult) eventsPerSec() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Events) / r.Seconds
}

func (r cdcResult) cpuPerMillion() float64 {
	if r.Events == 0 {
		return 0
	}
	return r.CPU / float64(r.Events) * 1e6
}

// cdcScenario runs both sides -runs times, alternating their order, and
// writes cdc.md and cdc.json beside the other results.
func (e *env) cdcScenario(ctx context.Context) error {
	pg, err := url.Parse(*cdcPostgres)
	if err != nil {
		return fmt.Errorf("-cdc-postgres: %w", err)
	}
	db, err := pgx.Connect(ctx, *cdcPostgres)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL (deploy/local/postgres.sh start): %w", err)
	}
	defer db.Close(context.Background())
	// deploy/local/postgres.sh runs with synchronous_commit=off for the
	// tests' sake; a commit would then reach the walsenders only with the
	// WAL writer's next flush (wal_writer_delay, 200 ms) and that wait
	// would be in both sides' latency. The workload commits as a server's
	// default does.
	if _, err := db.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		return err
	}
	var pgVersion string
	_ = db.QueryRow(ctx, "SELECT split_part(version(), ' on ', 1)").Scan(&pgVersion)
	e.cdcLeftovers(ctx, db)

	sides := []string{sideSluice}
	var plugins string
	if e.connectLibs != "" {
		out, err := exec.Command("deploy/local/kafka.sh", "debezium-libs").Output()
		if err != nil {
			return fmt.Errorf("install Debezium: %w", err)
		}
		plugins = strings.TrimSpace(string(out))
		sides = append(sides, sideDebezium)
	}
	w := newCDCWorkload()
	log.Printf("  workload: %s", w)
	got := map[string][]cdcResult{}
	for r := 0; r < e.o.runs; r++ {
		order := slices.Clone(sides)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, side := range order {
			res, err := e.cdcRun(ctx, db, pg, side, plugins, w)
			if err != nil {
				return fmt.Errorf("%s: %w", side, err)
			}
			log.Printf("  %-13s run %d: %.0f events/s, %.2f CPU s, latency p50 %.1f ms p99 %.1f ms, peak RSS %.0f MB",
				side, r+1, res.eventsPerSec(), res.CPU, res.LatencyP50*1000, res.LatencyP99*1000, float64(res.PeakRSS)/1e6)
			got[side] = append(got[side], res)
		}
	}
	meds := make([]cdcResult, 0, len(sides))
	for _, s := range sides {
		meds = append(meds, cdcMedian(got[s]))
	}
	table := cdcTable(w, meds)
	fmt.Print(table)

	versions := map[string]string{"postgresql": pgVersion}
	if plugins != "" {
		versions["debezium"] = strings.TrimPrefix(filepath.Base(filepath.Dir(plugins)), "debezium-")
		versions["kafka_connect_heap"] = "-Xms256m -Xmx" + *cdcHeap
	}
	m := machine()
	var md strings.Builder
	fmt.Fprintf(&md, "# PostgreSQL CDC: postgres-cdc and Debezium\n\nRun %s with `make bench-cdc` (runs: %d; %s).\n\n",
		time.Now().UTC().Format(time.RFC3339), e.o.runs, w)
	md.WriteString("| machine | |\n|---|---|\n")
	for _, k := range []string{"cpu", "cpus", "memory", "os", "go", "java", "kafka", "sluice"} {
		fmt.Fprintf(&md, "| %s | %s |\n", k, m[k])
	}
	fmt.Fprintf(&md, "| postgresql | %s |\n", pgVersion)
	if plugins != "" {
		fmt.Fprintf(&md, "| debezium | %s on Kafka Connect %s standalone, %s |\n", versions["debezium"], envOr("KAFKA_VERSION", "4.1.0"),
			versions["kafka_connect_heap"])
	}
	md.WriteString(table)
	md.WriteString("\nevents/s: the backlog drained by a fresh process, from its first record in Kafka to its last (end offsets); " +
		"CPU is the process's user+system time in that window. Latency: live phase, from COMMIT returning to the benchmark's " +
		"consumer reading the transaction's last event. Peak RSS: the kernel's high-water mark of that process. " +
		"Each side is the median of its runs, figure by figure.\n")
	if err := os.WriteFile(filepath.Join(e.o.out, "cdc.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{"date": time.Now().UTC(), "machine": m, "versions": versions,
		"workload": w.String(), "runs": got, "medians": meds}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.o.out, "cdc.json"), js, 0o644)
}

// cdcMedian takes each figure's median over the runs.
func cdcMedian(rs []cdcResult) cdcResult {
	med := func(f func(cdcResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	out := rs[0]
	out.Seconds = float64(out.Events) / med(cdcResult.eventsPerSec)
	out.CPU = med(cdcResult.cpuPerMillion) * float64(out.Events) / 1e6
	out.LatencyP50 = med(func(r cdcResult) float64 { return r.LatencyP50 })
	out.LatencyP99 = med(func(r cdcResult) float64 { return r.LatencyP99 })
	out.LiveCPU = med(func(r cdcResult) float64 { return r.LiveCPU })
	out.PeakRSS = int64(med(func(r cdcResult) float64 { return float64(r.PeakRSS) }))
	return out
}

// cdcTable renders the sides as the other scenarios' tables, with a last
// row of ratios, Sluice ÷ Debezium, for every figure.
func cdcTable(w cdcWorkload, ms []cdcResult) string {
	var b strings.Builder
	b.WriteString("\n| scenario | side | events/s | CPU s per M events | latency p50 ms | latency p99 ms | live CPU s | peak RSS MB |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|\n")
	name := fmt.Sprintf("PostgreSQL → Kafka, %d events", w.backlogEvents())
	for _, m := range ms {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f | %.1f | %.1f | %.2f | %s |\n", name, m.Side, m.eventsPerSec(), m.cpuPerMillion(),
			m.LatencyP50*1000, m.LatencyP99*1000, m.LiveCPU, mb(m.PeakRSS))
	}
	if len(ms) == 2 {
		s, d := ms[0], ms[1]
		ratio := func(a, b float64) string {
			if b == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		fmt.Fprintf(&b, "| %s | Sluice ÷ Debezium | %s | %s | %s | %s | %s | %s |\n", name,
			ratio(s.eventsPerSec(), d.eventsPerSec()), ratio(s.cpuPerMillion(), d.cpuPerMillion()),
			ratio(s.LatencyP50, d.LatencyP50), ratio(s.LatencyP99, d.LatencyP99), ratio(s.LiveCPU, d.LiveCPU),
			ratio(float64(s.PeakRSS), float64(d.PeakRSS)))
	}
	return b.String()
}

// cdcRun is one run of one side: warm-up, backlog, drain, live.
func (e *env) cdcRun(ctx context.Context, db *pgx.Conn, pg *url.URL, side, plugins string, w cdcWorkload) (cdcResult, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "cdcbench_" + hex.EncodeToString(b) // table, slot, publication and topic prefix
	table := pgx.Identifier{"public", id}.Sanitize()
	topic := id + ".public." + id
	res := cdcResult{Side: side, Events: w.backlogEvents()}

	if _, err := db.Exec(ctx, "CREATE TABLE "+table+` (id bigint PRIMARY KEY, n integer NOT NULL, label text NOT NULL,
		amount numeric(12,2) NOT NULL, at timestamp NOT NULL)`); err != nil {
		return res, err
	}
	defer e.cdcDrop(context.Background(), db, id)
	adm, closeAdm, err := e.admin()
	if err != nil {
		return res, err
	}
	defer closeAdm()
	// One partition: one ordered stream, as the connectors write it.
	if resp, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
		return res, errors.Join(err, resp.Err)
	}
	defer e.deleteTopic(context.Background(), topic)
	count, closeCount := e.topicCount(topic)
	defer closeCount()

	cfg := cdcConfig(pg, id)
	var start func() (*proc, error)
	var stored func() bool
	switch side {
	case sideSluice:
		name := id
		cfg["offset.flush.interval.ms"] = "1000" // as the Kafka Connect worker's
		if err := e.apply(ctx, name, cfg); err != nil {
			return res, err
		}
		defer e.deleteConnector(context.Background(), name)
		start = func() (*proc, error) { return e.startAgent(ctx) }
		stored = func() bool {
			r, err := e.api.Connectors.GetConnectorOffsets(ctx, connect.NewRequest(&sluicev1.GetConnectorOffsetsRequest{Name: name}))
			return err == nil && len(r.Msg.GetOffsets()) > 0
		}
	case sideDebezium:
		dir := e.dir(filepath.Join("connect", id))
		start = func() (*proc, error) { return e.startDebezium(dir, id, plugins, cfg) }
		stored = func() bool {
			st, err := os.Stat(filepath.Join(dir, "offsets"))
			return err == nil && st.Size() > 0
		}
	}

	// 1. Warm-up: the slot and the publication exist, one row went
	// through, its offset is stored.
	p, err := start()
	if err != nil {
		return res, err
	}
	// A row written before the slot exists would never come.
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var active bool
		_ = db.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", id).Scan(&active)
		if active {
			break
		}
		if time.Now().After(deadline) || p.exited() {
			p.stop()
			return res, fmt.Errorf("warm-up: slot %s not read after 3 minutes (log: %s)", id, p.log)
		}
	}
	if _, err := db.Exec(ctx, "INSERT INTO "+table+" VALUES (0, 0, 'warm-up', 0, localtimestamp)"); err != nil {
		p.stop()
		return res, err
	}
	if _, err := watch(ctx, p, 3*time.Minute, 1, count); err != nil {
		p.stop()
		return res, fmt.Errorf("warm-up: %w", err)
	}
	for deadline := time.Now().Add(time.Minute); !stored(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.stop()
			return res, fmt.Errorf("warm-up: no offset stored after a minute (log: %s)", p.log)
		}
	}
	p.stop()

	// 2. The backlog, while nothing reads the slot.
	t0 := time.Now()
	if err := writeBacklog(ctx, db, table, w); err != nil {
		return res, fmt.Errorf("backlog: %w", err)
	}
	log.Printf("  %-13s backlog of %d events written in %.1f s", side, w.backlogEvents(), time.Since(t0).Seconds())

	// 3. A fresh process drains it.
	if p, err = start(); err != nil {
		return res, err
	}
	defer p.stop()
	drained := func() (int64, error) {
		n, err := count()
		return n - 1, err
	}
	win, err := watch(ctx, p, 20*time.Minute, w.backlogEvents(), drained)
	if err != nil {
		return res, fmt.Errorf("drain: %w", err)
	}
	res.Seconds, res.CPU = win.last.Sub(win.first).Seconds(), win.cpu

	// 4. Live.
	lat, liveCPU, err := e.cdcLive(ctx, db, p, table, topic, 1+w.backlogEvents(), int64(w.rows)+1, w)
	if err != nil {
		return res, fmt.Errorf("live: %w", err)
	}
	res.LiveTxns, res.LiveCPU = len(lat), liveCPU
	res.LatencyP50, res.LatencyP99 = percentile(lat, 0.50).Seconds(), percentile(lat, 0.99).Seconds()

	// 5. Peak memory, once it exited.
	p.stop()
	res.PeakRSS = p.peakRSS()
	return res, nil
}

// cdcConfig is the connector config both sides run: Debezium's names and
// defaults, streaming only, JsonConverter with schemas for keys and values.
func cdcConfig(pg *url.URL, id string) map[string]string {
	pass, _ := pg.User.Password()
	port := pg.Port()
	if port == "" {
		port = "5432"
	}
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":         "1",
		"database.hostname": pg.Hostname(), "database.port": port, "database.dbname": strings.TrimPrefix(pg.Path, "/"),
		"database.user": pg.User.Username(), "database.password": pass,
		"topic.prefix": id, "plugin.name": "pgoutput", "slot.name": id, "publication.name": id,
		"publication.autocreate.mode": "filtered", "table.include.list": "public." + id, "snapshot.mode": "no_data",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "true",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
	}
}

// writeBacklog inserts w.rows rows, then updates the first tenth and
// deletes the last twentieth, w.txn rows per transaction.
func writeBacklog(ctx context.Context, db *pgx.Conn, table string, w cdcWorkload) error {
	steps := []struct {
		sql      string
		from, to int
	}{
		{"INSERT INTO " + table + " SELECT g, g % 1000, 'item ' || g, g * 0.25, localtimestamp FROM generate_series($1::bigint, $2::bigint) g",
			1, w.rows},
		{"UPDATE " + table + " SET n = n + 1, label = label || ' updated', amount = amount + 1, at = localtimestamp WHERE id BETWEEN $1 AND $2",
			1, w.updates},
		{"DELETE FROM " + table + " WHERE id BETWEEN $1 AND $2", w.rows - w.deletes + 1, w.rows},
	}
	for _, s := range steps {
		for lo := s.from; lo <= s.to; lo += w.txn {
			if _, err := db.Exec(ctx, s.sql, lo, min(lo+w.txn-1, s.to)); err != nil {
				return err
			}
		}
	}
	return nil
}

// cdcLive writes the live transactions at their pace and returns, for each,
// the time from its COMMIT returning to its last event read from Kafka; and
// the process's CPU seconds meanwhile.
func (e *env) cdcLive(ctx context.Context, db *pgx.Conn, p *proc, table, topic string, from, firstID int64,
	w cdcWorkload) ([]time.Duration, float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.o.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	want := w.liveTxns * w.liveRows
	seen := make([]time.Time, want) // by id - firstID
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		n := 0
		for n < want {
			fs := cl.PollFetches(cctx)
			if cctx.Err() != nil {
				done <- cctx.Err()
				return
			}
			now := time.Now()
			if err := fs.Err(); err != nil {
				done <- err
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				var k struct {
					Payload struct {
						ID int64 `json:"id"`
					} `json:"payload"`
				}
				if json.Unmarshal(r.Key, &k) != nil {
					return
				}
				if i := k.Payload.ID - firstID; i >= 0 && i < int64(want) && seen[i].IsZero() {
					seen[i] = now
					n++
				}
			})
		}
		done <- nil
	}()

	ins := "INSERT INTO " + table + " SELECT g, g % 1000, 'live ' || g, g * 0.25, localtimestamp FROM generate_series($1::bigint, $2::bigint) g"
	commits := make([]time.Time, w.liveTxns)
	cpu0 := p.cpuSeconds()
	tick := time.NewTicker(w.liveEvery)
	defer tick.Stop()
	for i := range commits {
		<-tick.C
		lo := firstID + int64(i*w.liveRows)
		if _, err := db.Exec(ctx, ins, lo, lo+int64(w.liveRows)-1); err != nil {
			return nil, 0, err
		}
		commits[i] = time.Now()
	}
	select {
	case err := <-done:
		if err != nil {
			return nil, 0, err
		}
	case <-time.After(2 * time.Minute):
		return nil, 0, fmt.Errorf("not every live event reached Kafka in 2 minutes (log: %s)", p.log)
	}
	cpu := p.cpuSeconds() - cpu0
	lat := make([]time.Duration, len(commits))
	for i, c := range commits {
		lat[i] = seen[(i+1)*w.liveRows-1].Sub(c)
	}
	return lat, cpu, nil
}

// percentile is the nearest-rank q-quantile.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)]
}

// cdcDrop removes a run's slot (once its reader is gone), publication and
// table.
func (e *env) cdcDrop(ctx context.Context, db *pgx.Conn, id string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var active bool
		err := db.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", id).Scan(&active)
		if err != nil {
			break // gone (or never made)
		}
		if !active {
			if _, err := db.Exec(ctx, "SELECT pg_drop_replication_slot($1)", id); err != nil {
				log.Printf("  drop slot %s: %v", id, err)
			}
			break
		}
	}
	_, _ = db.Exec(ctx, "DROP PUBLICATION IF EXISTS "+pgx.Identifier{id}.Sanitize())
	_, _ = db.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{"public", id}.Sanitize())
}

// cdcLeftovers drops what an interrupted run left: idle slots pin WAL.
func (e *env) cdcLeftovers(ctx context.Context, db *pgx.Conn) {
	rows, err := db.Query(ctx, `SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'cdcbench\_%' AND NOT active
		UNION SELECT pubname FROM pg_publication WHERE pubname LIKE 'cdcbench\_%'
		UNION SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'cdcbench\_%'`)
	if err != nil {
		return
	}
	ids, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range ids {
		e.cdcDrop(ctx, db, id)
	}
	if adm, closeAdm, err := e.admin(); err == nil {
		if topics, err := adm.ListTopics(ctx); err == nil {
			for _, t := range topics.Names() {
				if strings.HasPrefix(t, "cdcbench_") {
					_, _ = adm.DeleteTopics(ctx, t)
				}
			}
		}
		closeAdm()
	}
}

// startDebezium runs Kafka Connect's standalone worker with Debezium's
// connector on its plugin path. The worker's files live in dir, so a
// second start resumes from the offsets the first one stored.
func (e *env) startDebezium(dir, name, plugins string, cfg map[string]string) (*proc, error) {
	c := map[string]string{"name": name}
	maps.Copy(c, cfg)
	e.runs++
	return e.connectStandalone(dir, fmt.Sprintf("%s-%d", name, e.runs), *cdcHeap,
		"key.converter=org.apache.kafka.connect.json.JsonConverter\n"+
			"value.converter=org.apache.kafka.connect.json.JsonConverter\n"+
			"plugin.path="+plugins+"\nplugin.discovery=service_load\n",
		"logger.dbz.name = io.debezium.connector.postgresql\nlogger.dbz.level = INFO\n", []map[string]string{c})
}
