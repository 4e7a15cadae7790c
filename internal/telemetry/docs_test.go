package telemetry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var metricName = regexp.MustCompile(`sluice_[a-z_]+`)

// documented returns the metric names docs/metrics.md lists.
func documented(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func base(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		name = strings.TrimSuffix(name, s)
	}
	return name
}

// TestEveryMetricIsDocumented: every instrument Sluice's code makes is in
// docs/metrics.md.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc := documented(t)
	var files []string
	for _, dir := range []string{"../../internal/telemetry", "../../controlplane", "../../agent"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		files = append(files, m...)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`"(sluice_[a-z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			seen++
			name := m[1]
			if !strings.Contains(doc, "`"+name) {
				t.Errorf("%s (%s) is not in docs/metrics.md", name, filepath.Base(f))
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d instrument names in the code", seen)
	}
}

// TestAlertsAndDashboardUseRealMetrics: the alert rules parse, name the
// alerts the docs promise, and every metric they and the Grafana dashboard
// query exists.
func TestAlertsAndDashboardUseRealMetrics(t *testing.T) {
	doc := documented(t)
	check := func(file, text string) {
		for _, n := range metricName.FindAllString(text, -1) {
			if !strings.Contains(doc, "`"+base(n)) {
				t.Errorf("%s queries %s, which docs/metrics.md does not list", file, n)
			}
		}
	}
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	names := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			names[r.Alert] = true
			if r.Expr == "" {
				t.Errorf("alert %s has no expr", r.Alert)
			}
			check("alerts.yml", r.Expr)
		}
	}
	for _, want := range []string{"SluiceTaskFailed", "SluiceSinkLagGrowing", "SluiceAgentLost", "SluiceNoLeader"} {
		if !names[want] {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
	d, err := os.ReadFile("../../deploy/grafana/sluice-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(d, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if len(dash.Panels) < 10 {
		t.Fatalf("the dashboard has %d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			check("dashboard panel "+p.Title, tg.Expr)
		}
	}
}
