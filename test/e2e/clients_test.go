package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
)

// clientTool returns the value of env, a tool deploy/local/clients.sh
// installed; without it the test skips, or fails under SLUICE_TEST_REQUIRE=1.
func clientTool(t *testing.T, env string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		msg := "no " + env + ": set it as `make test` does (deploy/local/clients.sh python|typescript)"
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

// runTool runs a command in dir with env added, failing the test with its
// output if it fails, and returns the output.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s: %s", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out)
}

// TestClients runs the Python and TypeScript clients' tests and examples
// against a live control plane with an agent: create a connector, get,
// list, watch its status to RUNNING, delete it, and the typed errors.
func TestClients(t *testing.T) {
	python := clientTool(t, "SLUICE_TEST_CLIENTS_PYTHON")
	ts := clientTool(t, "SLUICE_TEST_CLIENTS_TS")
	c := newCluster(t)
	c.startAgent("clients-agent")
	topic := testenv.NewTopic(t, c.kafka, 1)
	server := "http://" + c.addr
	env := []string{"SLUICE_TEST_SERVER=" + server, "SLUICE_TEST_TOPIC=" + topic, "SLUICE_SERVER=" + server}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("python", func(t *testing.T) {
		dir := filepath.Join(root, "clients", "python")
		penv := append(env, "PYTHONPATH="+filepath.Join(dir, "src")+string(os.PathListSeparator)+filepath.Join(dir, "gen"),
			"PYTHONDONTWRITEBYTECODE=1")
		out := runTool(t, dir, penv, python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
		if !strings.Contains(out, "passed") || strings.Contains(out, "skipped") {
			t.Fatalf("pytest ran no live test:\n%s", out)
		}
		out = runTool(t, dir, penv, python, "examples/watch_status.py", "--name", "py-example", "--topic", topic, "--delete")
		if !strings.Contains(out, "RUNNING\n") || !strings.Contains(out, "deleted py-example") {
			t.Fatalf("the example did not see its connector run:\n%s", out)
		}
	})

	t.Run("typescript", func(t *testing.T) {
		runTool(t, ts, nil, filepath.Join(ts, "node_modules", ".bin", "tsc"), "-p", ".")
		out := runTool(t, ts, env, "node", "--test", "--test-reporter=tap", "dist/test/")
		if !strings.Contains(out, "\n# skipped 0\n") {
			t.Fatalf("node --test skipped the live tests:\n%s", out)
		}
		out = runTool(t, ts, env, "node", "dist/examples/watch_status.js", "--name", "ts-example", "--topic", topic, "--delete")
		if !strings.Contains(out, "RUNNING\n") || !strings.Contains(out, "deleted ts-example") {
			t.Fatalf("the example did not see its connector run:\n%s", out)
		}
	})
}
