package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type report struct {
	Date    time.Time         `json:"date"`
	Machine map[string]string `json:"machine"`
	Options map[string]any    `json:"options"`
	Rows    []row             `json:"rows"`
}

func newReport(o options) *report {
	return &report{
		Date:    time.Now().UTC(),
		Machine: machine(),
		Options: map[string]any{"mb": o.mb, "file_mb": o.fileMB, "runs": o.runs, "sizes": o.sizes, "connectors": o.connects},
	}
}

func (r *report) add(rows ...row) { r.Rows = append(r.Rows, rows...) }

func firstLine(cmd string, args ...string) string {
	out, err := exec.Command(cmd, args...).CombinedOutput()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func machine() map[string]string {
	m := map[string]string{
		"os":     runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":   fmt.Sprint(runtime.NumCPU()),
		"go":     runtime.Version(),
		"java":   firstLine("java", "-version"),
		"kafka":  "Apache Kafka " + envOr("KAFKA_VERSION", "4.1.0") + " (deploy/local/kafka.sh, KRaft, one broker)",
		"sluice": firstLine("git", "describe", "--always", "--dirty"),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"))
	}
	return m
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func mb(b int64) string { return fmt.Sprintf("%.0f", float64(b)/1e6) }

// table renders rows as markdown: each side with its figures, and the
// ratio of Sluice to that baseline.
func (r *report) table(rows []row) string {
	var b strings.Builder
	if len(rows) == 0 {
		return ""
	}
	switch rows[0].Metric {
	case "seconds":
		b.WriteString("\n| scenario | case | side | start-up to first record | CPU s | peak RSS MB | Sluice is |\n|---|---|---|---:|---:|---:|---|\n")
		for _, rw := range rows {
			s := rw.Sides[0]
			for _, m := range rw.Sides {
				ratio := "—"
				if m.Side != sideSluice && s.Startup > 0 {
					ratio = fmt.Sprintf("%.1f× faster", m.Startup/s.Startup)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f ms | %.2f | %s | %s |\n", rw.Scenario, rw.Case, m.Side, m.Startup*1000, m.CPU, mb(m.PeakRSS), ratio)
			}
		}
	case "RSS per task":
		b.WriteString("\n| scenario | case | side | RSS per task MB | idle CPU s | peak RSS MB | Sluice uses |\n|---|---|---|---:|---:|---:|---|\n")
		for _, rw := range rows {
			s := rw.Sides[0]
			for _, m := range rw.Sides {
				ratio := "—"
				if m.Side != sideSluice && m.RSSPerTask > 0 {
					ratio = fmt.Sprintf("%.2f× the memory", float64(s.RSSPerTask)/float64(m.RSSPerTask))
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.2f | %s | %s |\n", rw.Scenario, rw.Case, m.Side,
					float64(m.RSSPerTask)/1e6, m.CPU, mb(m.PeakRSS), ratio)
			}
		}
	default:
		b.WriteString("\n| scenario | size | side | records/s | MB/s | CPU s per M records | peak RSS MB | Sluice ÷ side (records/s) |\n|---|---|---|---:|---:|---:|---:|---:|\n")
		for _, rw := range rows {
			s := rw.Sides[0]
			for _, m := range rw.Sides {
				ratio := "—"
				if m.Side != sideSluice && m.recordsPerSec() > 0 {
					ratio = fmt.Sprintf("%.2f", s.recordsPerSec()/m.recordsPerSec())
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.1f | %.2f | %s | %s |\n", rw.Scenario, rw.Case, m.Side,
					m.recordsPerSec(), m.mbPerSec(), m.cpuPerMillion(), mb(m.PeakRSS), ratio)
			}
		}
	}
	return b.String()
}

// write saves results.md, results.json and the charts.
func (r *report) write(dir string) error {
	var md strings.Builder
	fmt.Fprintf(&md, "# Benchmark results\n\nRun %s with `make bench` (options: %v).\n\n", r.Date.Format(time.RFC3339), r.Options)
	md.WriteString("| machine | |\n|---|---|\n")
	for _, k := range []string{"cpu", "cpus", "memory", "os", "go", "java", "kafka", "sluice"} {
		fmt.Fprintf(&md, "| %s | %s |\n", k, r.Machine[k])
	}
	groups := map[string][]row{}
	var order []string
	for _, rw := range r.Rows {
		if _, ok := groups[rw.Metric]; !ok {
			order = append(order, rw.Metric)
		}
		groups[rw.Metric] = append(groups[rw.Metric], rw)
	}
	for _, g := range order {
		md.WriteString(r.table(groups[g]))
	}
	md.WriteString("\nThroughput is measured from outside each process, from the first record to the last " +
		"(Kafka's end offsets, or the output file's size); CPU is the process's user+system time in that window; " +
		"peak RSS is the kernel's high-water mark for the whole process. Each side is the median of its runs.\n")
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644); err != nil {
		return err
	}
	return writeCharts(dir, r.Rows)
}
