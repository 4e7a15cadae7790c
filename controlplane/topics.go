package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// Active topics (Kafka Connect's KIP-558): each task reports a topic the
// first time it produces to it or consumes from it, and the control plane
// keeps topics/<connector>/<topic> until the connector is deleted or its
// topics are reset. A reset bumps the connector record's TopicsReset, which
// reaches the tasks in their assignments: they forget what they reported and
// report again as they use topics.

// topicRecord is the value of a topics/ key.
type topicRecord struct {
	Task         int   `json:"task"`
	DiscoverTime int64 `json:"discover_timestamp"` // Unix ms, as Kafka's TopicStatus
}

func (k keys) topics(c string) string      { return k.prefix + pfxTopics + c + "/" }
func (k keys) topic(c, t string) string    { return k.prefix + pfxTopics + c + "/" + t }
func (k keys) logger(name string) string   { return k.prefix + pfxLoggers + name }
func (k keys) loggers() string             { return k.prefix + pfxLoggers }
func topicOf(k keys, c, key string) string { return strings.TrimPrefix(key, k.topics(c)) }

// errTopicTracking is returned while topic tracking is off, as Kafka
// Connect's 403 with topic.tracking.enable=false.
var errTopicTracking = connect.NewError(connect.CodePermissionDenied,
	errors.New("Topic tracking is disabled.")) //nolint:staticcheck // Kafka Connect's message

// GetConnectorTopics returns the topics a connector's tasks have used.
func (a *connectorAPI) GetConnectorTopics(ctx context.Context, req *connect.Request[sluicev1.GetConnectorTopicsRequest]) (*connect.Response[sluicev1.GetConnectorTopicsResponse], error) {
	if a.cp.cfg.DisableTopicTracking {
		return nil, errTopicTracking
	}
	name := req.Msg.GetName()
	if err := validName(name); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	k := a.cp.keys
	resp, err := a.cp.etcd.Txn(ctx).Then(
		clientv3.OpGet(k.connector(name), clientv3.WithCountOnly()),
		clientv3.OpGet(k.topics(name), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return nil, etcdErr(err)
	}
	if resp.Responses[0].GetResponseRange().Count == 0 {
		return nil, errNotFound("connector %s not found", name)
	}
	out := &sluicev1.GetConnectorTopicsResponse{Topics: []string{}}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		out.Topics = append(out.Topics, topicOf(k, name, string(kv.Key)))
	}
	slices.Sort(out.Topics)
	return connect.NewResponse(out), nil
}

// ResetConnectorTopics empties a connector's set of active topics.
func (a *connectorAPI) ResetConnectorTopics(ctx context.Context, req *connect.Request[sluicev1.ResetConnectorTopicsRequest]) (*connect.Response[sluicev1.ResetConnectorTopicsResponse], error) {
	if a.cp.cfg.DisableTopicTracking {
		return nil, errTopicTracking
	}
	if a.cp.cfg.DisableTopicReset {
		return nil, connect.NewError(connect.CodePermissionDenied,
			errors.New("Topic tracking reset is disabled.")) //nolint:staticcheck // Kafka Connect's message
	}
	name := req.Msg.GetName()
	_, err := a.modifyConnector(ctx, name, func(rec *connectorRecord) bool {
		rec.TopicsReset++
		return true
	}, clientv3.OpDelete(a.cp.keys.topics(name), clientv3.WithPrefix()))
	if err != nil {
		return nil, err
	}
	a.cp.log.Info("connector active topics reset", "connector", name)
	return connect.NewResponse(&sluicev1.ResetConnectorTopicsResponse{}), nil
}

// modifyConnector changes a connector record with change (which says
// whether it changed anything), with extra operations in the same
// transaction, retrying when the record changes meanwhile.
func (a *connectorAPI) modifyConnector(ctx context.Context, name string, change func(*connectorRecord) bool, extra ...clientv3.Op) (*connectorRecord, error) {
	cp := a.cp
	if err := validName(name); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	key := cp.keys.connector(name)
	for attempt := 0; attempt < 5; attempt++ {
		resp, err := cp.etcd.Get(ctx, key)
		if err != nil {
			return nil, etcdErr(err)
		}
		if len(resp.Kvs) == 0 {
			return nil, errNotFound("connector %s not found", name)
		}
		var rec connectorRecord
		if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stored connector %s: %w", name, err))
		}
		if !change(&rec) {
			return &rec, nil
		}
		rec.UpdateTime = cp.cfg.Now().UTC()
		txn, err := cp.etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).
			Then(append([]clientv3.Op{clientv3.OpPut(key, mustJSON(rec))}, extra...)...).Commit()
		if err != nil {
			return nil, etcdErr(err)
		}
		if txn.Succeeded {
			return &rec, nil
		}
	}
	return nil, connect.NewError(connect.CodeAborted, fmt.Errorf("connector %s is being changed concurrently; try again", name))
}

// topicsReport stores the topics a task started to use, fenced by its epoch.
func (s *session) topicsReport(ctx context.Context, r *sluicev1.TopicsReport) error {
	cp := s.h.cp
	if cp.cfg.DisableTopicTracking || len(r.GetTopics()) == 0 {
		return nil
	}
	c := r.GetTask().GetConnector()
	rec := mustJSON(topicRecord{Task: int(r.GetTask().GetTask()), DiscoverTime: cp.cfg.Now().UnixMilli()})
	ops := make([]clientv3.Op, 0, len(r.GetTopics()))
	for _, t := range r.GetTopics() {
		if t == "" || strings.Contains(t, "/") {
			continue
		}
		ops = append(ops, clientv3.OpPut(cp.keys.topic(c, t), rec))
	}
	if len(ops) == 0 {
		return nil
	}
	return s.guardedWrite(ctx, r.GetTask(), r.GetEpoch(), ops...)
}
