package controlplane

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kcClientScript drives Sluice with kafka-connect-py, a Kafka Connect REST
// client others wrote (installed by deploy/local/pyclient.sh). It fails
// with a message on the first answer Kafka Connect would not give.
const kcClientScript = `
import sys
from kafka_connect import KafkaConnect

kc = KafkaConnect(url=sys.argv[1])
def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)

info = kc.get_cluster_info()
check("version" in info and "kafka_cluster_id" in info, "cluster info %r" % info)
cfg = {"connector.class": "com.example.TestSource", "topic": "t", "tasks.max": "2"}
created = kc.create_connector({"name": "py", "config": cfg})
check(created["name"] == "py" and len(created["tasks"]) == 2 and created["type"] == "source", "create %r" % created)
check(kc.list_connectors() == ["py"], "list %r" % kc.list_connectors())
check("py" in kc.list_connectors(expand="status"), "list expanded")
st = kc.get_connector_status("py")
check(st["connector"]["state"] == "RUNNING" and len(st["tasks"]) == 2, "status %r" % st)
cfg["topic"] = "u"
upd = kc.update_connector("py", cfg)
check(upd["config"]["topic"] == "u", "update %r" % upd)
kc.pause_connector("py")
check(kc.get_connector_status("py")["connector"]["state"] == "PAUSED", "paused")
kc.resume_connector("py")
check(kc.get_connector_status("py")["connector"]["state"] == "RUNNING", "resumed")
rs = kc.restart_connector("py", include_tasks=True)
check(rs is None or rs["connector"]["state"] == "RESTARTING", "restart %r" % rs)
tasks = kc.list_connector_tasks("py")
check(tasks[0]["id"] == {"connector": "py", "task": 0} and tasks[0]["config"]["topic"] == "u", "tasks %r" % tasks)
ts = kc.get_connector_task_status("py", 0)
check(ts["id"] == 0 and "state" in ts, "task status %r" % ts)
plugins = kc.list_connector_plugins()
check(any(p["class"] == "com.example.TestSource" and p["type"] == "source" for p in plugins), "plugins %r" % plugins)
v = kc.validate_connector_config("TestSource", {"connector.class": "com.example.TestSource", "tasks.max": "0"})
check(v["error_count"] >= 2 and any(c["value"]["errors"] for c in v["configs"]), "validate %r" % v)
kc.stop_connector("py")
check(kc.get_connector_status("py")["connector"]["state"] == "STOPPED", "stopped")
kc.delete_connector("py")
check(kc.list_connectors() == [], "deleted")
print("ok")
`

// TestWithAKafkaConnectClientOthersWrote points kafka-connect-py at Sluice.
func TestWithAKafkaConnectClientOthersWrote(t *testing.T) {
	t.Parallel()
	python := strings.TrimSpace(os.Getenv("SLUICE_TEST_KC_PYTHON"))
	if python == "" {
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatal("no kafka-connect-py: set SLUICE_TEST_KC_PYTHON=$(deploy/local/pyclient.sh python), or run `make test`")
		}
		t.Skip("no kafka-connect-py: set SLUICE_TEST_KC_PYTHON=$(deploy/local/pyclient.sh python)")
	}
	cp, _ := start(t, 0)
	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(kcClientScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, script, "http://"+cp.Addr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("kafka-connect-py against Sluice: %v\n%s", err, out)
	}
}
