package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EtcdNode is one member of a cluster that EtcdCluster started.
type EtcdNode struct {
	Name, Client string
	cmd          *exec.Cmd
	done         chan struct{}
}

// Kill SIGKILLs the member.
func (n *EtcdNode) Kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
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
		logf, err := os.Create(filepath.Join(dir, node.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		node.cmd = exec.Command(bin, "--name", node.Name, "--data-dir", filepath.Join(dir, node.Name),
			"--listen-client-urls", "http://"+node.Client, "--advertise-client-urls", "http://"+node.Client,
			"--listen-peer-urls", "http://"+peers[i], "--initial-advertise-peer-urls", "http://"+peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", token,
			"--initial-cluster-state", "new", "--log-level", "warn")
		node.cmd.Stdout, node.cmd.Stderr = logf, logf
		if err := node.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", node.Name, err)
		}
		node.done = make(chan struct{})
		go func() {
			_ = node.cmd.Wait()
			logf.Close()
			close(node.done)
		}()
		t.Cleanup(func() {
			_ = node.cmd.Process.Signal(syscall.SIGKILL)
			<-node.done
			if t.Failed() {
				if b, err := os.ReadFile(logf.Name()); err == nil {
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
