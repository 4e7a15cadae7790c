package controlplane

import (
	"context"
	"encoding/json"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicehq/sluice/api/kcjson"
)

// Log levels set for the whole cluster (PUT /admin/loggers/root?scope=cluster,
// Kafka Connect's KIP-976) are stored at loggers/root: every replica applies
// the level to itself when it sees the key, and sends it to its agents with
// their assignments.

// loggerRecord is the value of a loggers/ key.
type loggerRecord struct {
	Level        string `json:"level"`         // Kafka's name: TRACE, DEBUG, INFO, WARN, ERROR, FATAL
	LastModified int64  `json:"last_modified"` // Unix ms
}

// rootLogger is Sluice's one logger per process.
const rootLogger = "root"

// ParseLevel reads a Kafka log level name.
var ParseLevel = kcjson.ParseLevel

// setClusterLevel stores the level for every process of the cluster.
func (cp *ControlPlane) setClusterLevel(ctx context.Context, level string) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	rec := loggerRecord{Level: strings.ToUpper(strings.TrimSpace(level)), LastModified: cp.cfg.Now().UnixMilli()}
	if _, err := cp.etcd.Put(ctx, cp.keys.logger(rootLogger), mustJSON(rec)); err != nil {
		return etcdErr(err)
	}
	return nil
}

// readLogger decodes a loggers/root value, once, where the hub reads it; nil
// when it names no level.
func readLogger(value []byte) *loggerRecord {
	var rec loggerRecord
	if json.Unmarshal(value, &rec) != nil {
		return nil
	}
	if _, ok := ParseLevel(rec.Level); !ok {
		return nil
	}
	return &rec
}

// clusterLevel applies the cluster's level to this replica.
func (cp *ControlPlane) clusterLevel(rec *loggerRecord) {
	lv, _ := ParseLevel(rec.Level)
	if cp.cfg.LogLevel != nil && cp.cfg.LogLevel.Level() != lv {
		cp.cfg.LogLevel.Set(lv)
		cp.log.Info("log level set for the cluster", "level", rec.Level)
	}
	cp.levelModified.Store(rec.LastModified)
}

// loggerOp reads loggers/root into a snapshot's transaction.
func loggerOp(k keys) clientv3.Op { return clientv3.OpGet(k.logger(rootLogger)) }
