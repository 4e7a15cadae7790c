package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EtcdNode is one member of a cluster that EtcdCluster started.
type EtcdNode struct {
	Name, Client string
	t            testing.TB
	args         []string
	logPath      string
	mu           sync.Mutex
	cmd          *exec.Cmd
	done         chan struct{}
}

// Kill SIGKILLs the member.
func (n *EtcdNode) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Start starts a killed member again, on its data.
func (n *EtcdNode) Start() {
	n.t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(n.args[0], n.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
}

// EtcdCluster starts an etcd cluster of n members on loopback, each its own
// process, from the binary SLUICE_TEST_ETCD_BIN names (`make test` sets it
// with deploy/local/etcd.sh bin), and stops it when the test ends.
func EtcdCluster(t testing.TB, n int) []*EtcdNode {
	t.Helper()
	bin := strings.TrimSpace(os.Getenv("SLUICE_TEST_ETCD_BIN"))
	if bin == "" {
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatal("no etcd binary: set SLUICE_TEST_ETCD_BIN=$(deploy/local/etcd.sh bin), or run `make test`")
		}
		t.Skip("no etcd binary: set SLUICE_TEST_ETCD_BIN=$(deploy/local/etcd.sh bin), or run `make test`")
	}
	dir := t.TempDir()
	nodes := make([]*EtcdNode, n)
	peers := make([]string, n)
	var initial []string
	for i := range nodes {
		nodes[i] = &EtcdNode{Name: fmt.Sprintf("etcd-%d", i), Client: FreeAddr(t)}
		peers[i] = FreeAddr(t)
		initial = append(initial, nodes[i].Name+"=http://"+peers[i])
	}
	token := unique(t)
	for i, node := range nodes {
		node.t = t
		node.logPath = filepath.Join(dir, node.Name+".log")
		node.args = []string{bin, "--name", node.Name, "--data-dir", filepath.Join(dir, node.Name),
			"--listen-client-urls", "http://" + node.Client, "--advertise-client-urls", "http://" + node.Client,
			"--listen-peer-urls", "http://" + peers[i], "--initial-advertise-peer-urls", "http://" + peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", token,
			"--initial-cluster-state", "new", "--log-level", "warn"}
		node.Start()
		t.Cleanup(func() {
			node.Kill()
			if t.Failed() {
				if b, err := os.ReadFile(node.logPath); err == nil {
					t.Logf("---- %s log ----\n%s", node.Name, b)
				}
			}
		})
	}
	WaitFor(t, 60*time.Second, "the etcd cluster healthy", func() bool {
		for _, node := range nodes {
			resp, err := http.Get("http://" + node.Client + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return false
			}
		}
		return true
	})
	return nodes
}

// Endpoints returns the client addresses of nodes.
func Endpoints(nodes []*EtcdNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Client
	}
	return out
}
