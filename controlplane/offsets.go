package controlplane

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors"
)

// The offsets API follows Kafka Connect's (KIP-875): source offsets are the
// partition/offset JSON objects a source task committed, kept in etcd;
// sink offsets are the consumer group connect-<name>'s offsets in Kafka,
// shown as {"kafka_topic","kafka_partition"} / {"kafka_offset"}.

type sinkPartition struct {
	Topic     string `json:"kafka_topic"`
	Partition *int32 `json:"kafka_partition"`
}

type sinkOffset struct {
	Offset *int64 `json:"kafka_offset"`
}

// connectorFor reads a connector record.
func (a *connectorAPI) connectorFor(ctx context.Context, name string) (*snapshot, *connectorRecord, error) {
	if err := validName(name); err != nil {
		return nil, nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	snap, err := load(ctx, a.cp.etcd, a.cp.keys)
	if err != nil {
		return nil, nil, etcdErr(err)
	}
	c, ok := snap.connectors[name]
	if !ok {
		return nil, nil, errNotFound("connector %s not found", name)
	}
	return snap, c, nil
}

// stopped checks that c's offsets may change: STOPPED, every task freed.
func stopped(snap *snapshot, c *connectorRecord) error {
	if c.TargetState != targetStopped {
		return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
			"connector %s is %s: offsets change only while it is STOPPED (sluice connector stop %s)", c.Name, c.TargetState, c.Name))
	}
	for tk := range snap.assign {
		if tk.Connector == c.Name {
			return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
				"connector %s is stopping: task %d is still assigned; try again in a moment", c.Name, tk.Task))
		}
	}
	return nil
}

func (cp *ControlPlane) kafkaAdmin() (*kadm.Client, error) {
	if len(cp.cfg.Kafka) == 0 {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New(
			"sink offsets live in Kafka, and this control plane has no --kafka brokers to reach it: start it with --kafka HOST:PORT"))
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cp.cfg.Kafka...)}, cp.cfg.KafkaOptions...)...)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return kadm.NewClient(cl), nil
}

func kafkaErr(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("kafka: %w", err))
}

// GetConnectorOffsets returns a connector's committed offsets.
func (a *connectorAPI) GetConnectorOffsets(ctx context.Context, req *connect.Request[sluicev1.GetConnectorOffsetsRequest]) (*connect.Response[sluicev1.GetConnectorOffsetsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	_, c, err := a.connectorFor(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	var out []*sluicev1.SourceOffset
	if c.Type == "sink" {
		adm, err := a.cp.kafkaAdmin()
		if err != nil {
			return nil, err
		}
		defer adm.Close()
		resp, err := adm.FetchOffsets(ctx, connectors.SinkGroupID(c.Name))
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, kafkaErr(err)
		}
		for _, o := range resp.Sorted() {
			if o.Err != nil || o.At < 0 {
				continue
			}
			p, at := o.Partition, o.At
			out = append(out, &sluicev1.SourceOffset{
				Partition: mustJSON(sinkPartition{Topic: o.Topic, Partition: &p}),
				Offset:    mustJSON(sinkOffset{Offset: &at}),
			})
		}
	} else {
		os, err := readOffsets(ctx, a.cp, c.Name)
		if err != nil {
			return nil, etcdErr(err)
		}
		out = os
		slices.SortFunc(out, func(x, y *sluicev1.SourceOffset) int { return cmp.Compare(x.Partition, y.Partition) })
	}
	return connect.NewResponse(&sluicev1.GetConnectorOffsetsResponse{Offsets: out}), nil
}

// isNull reports whether an offset removes its partition's offset.
func isNull(offset string) bool {
	o := strings.TrimSpace(offset)
	return o == "" || o == "null"
}

// AlterConnectorOffsets sets or removes offsets of a STOPPED connector.
func (a *connectorAPI) AlterConnectorOffsets(ctx context.Context, req *connect.Request[sluicev1.AlterConnectorOffsetsRequest]) (*connect.Response[sluicev1.AlterConnectorOffsetsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	snap, c, err := a.connectorFor(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	if len(req.Msg.GetOffsets()) == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("offsets: give at least one partition and its offset"))
	}
	if err := stopped(snap, c); err != nil {
		return nil, err
	}
	if c.Type == "sink" {
		err = a.alterSink(ctx, c.Name, req.Msg.GetOffsets())
	} else {
		err = a.alterSource(ctx, c.Name, req.Msg.GetOffsets())
	}
	if err != nil {
		return nil, err
	}
	a.cp.log.Info("connector offsets altered", "connector", c.Name, "partitions", len(req.Msg.GetOffsets()))
	return connect.NewResponse(&sluicev1.AlterConnectorOffsetsResponse{
		Message: "The offsets for this connector have been altered successfully"}), nil
}

func (a *connectorAPI) alterSource(ctx context.Context, name string, offsets []*sluicev1.SourceOffset) error {
	k := a.cp.keys
	var ops []clientv3.Op
	for i, o := range offsets {
		// The partition's key is its canonical JSON, as agents write it.
		pkey, ok := canonicalObject(o.GetPartition())
		if !ok {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("offsets[%d].partition: want a JSON object, got %q", i, o.GetPartition()))
		}
		if isNull(o.GetOffset()) {
			ops = append(ops, clientv3.OpDelete(k.offset(name, pkey)))
			continue
		}
		off, ok := canonicalObject(o.GetOffset())
		if !ok {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("offsets[%d].offset: want a JSON object or null, got %q", i, o.GetOffset()))
		}
		ops = append(ops, clientv3.OpPut(k.offset(name, pkey), mustJSON(storedOffset{
			Partition: json.RawMessage(pkey), Offset: json.RawMessage(off)})))
	}
	// Still stopped, in the same transaction.
	resp, err := a.cp.etcd.Txn(ctx).If(notAssigned(k, name)...).Then(ops...).Commit()
	if err != nil {
		return etcdErr(err)
	}
	if !resp.Succeeded {
		return connect.NewError(connect.CodeAborted, fmt.Errorf("connector %s changed meanwhile; try again", name))
	}
	return nil
}

// notAssigned holds while no task of connector name is assigned.
func notAssigned(k keys, name string) []clientv3.Cmp {
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k.prefix+pfxAssign+name+"/"), "=", 0).WithPrefix()}
}

func (a *connectorAPI) alterSink(ctx context.Context, name string, offsets []*sluicev1.SourceOffset) error {
	set := kadm.Offsets{}
	remove := kadm.TopicsSet{}
	for i, o := range offsets {
		var p sinkPartition
		if err := json.Unmarshal([]byte(o.GetPartition()), &p); err != nil || p.Topic == "" || p.Partition == nil {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(
				`offsets[%d].partition: a sink partition is {"kafka_topic":"...","kafka_partition":N}, got %q`, i, o.GetPartition()))
		}
		if isNull(o.GetOffset()) {
			remove.Add(p.Topic, *p.Partition)
			continue
		}
		var off sinkOffset
		if err := json.Unmarshal([]byte(o.GetOffset()), &off); err != nil || off.Offset == nil || *off.Offset < 0 {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(
				`offsets[%d].offset: a sink offset is {"kafka_offset":N} with N >= 0, or null, got %q`, i, o.GetOffset()))
		}
		set.AddOffset(p.Topic, *p.Partition, *off.Offset, -1)
	}
	adm, err := a.cp.kafkaAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	group := connectors.SinkGroupID(name)
	if len(set) > 0 {
		resp, err := adm.CommitOffsets(ctx, group, set)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return groupErr(group, err)
		}
	}
	if len(remove) > 0 {
		resp, err := adm.DeleteOffsets(ctx, group, remove)
		if err == nil {
			err = resp.Error()
		}
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return groupErr(group, err)
		}
	}
	return nil
}

func groupErr(group string, err error) error {
	if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.NonEmptyGroup) || errors.Is(err, kerr.RebalanceInProgress) ||
		errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.GroupSubscribedToTopic) {
		return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
			"consumer group %s still has members (are the sink's tasks still stopping, or does another consumer use the group?): %w", group, err))
	}
	return kafkaErr(err)
}

// ResetConnectorOffsets removes every offset of a STOPPED connector.
func (a *connectorAPI) ResetConnectorOffsets(ctx context.Context, req *connect.Request[sluicev1.ResetConnectorOffsetsRequest]) (*connect.Response[sluicev1.ResetConnectorOffsetsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	snap, c, err := a.connectorFor(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	if err := stopped(snap, c); err != nil {
		return nil, err
	}
	if c.Type == "sink" {
		adm, err := a.cp.kafkaAdmin()
		if err != nil {
			return nil, err
		}
		defer adm.Close()
		resp, err := adm.DeleteGroup(ctx, connectors.SinkGroupID(c.Name))
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, groupErr(connectors.SinkGroupID(c.Name), err)
		}
	} else {
		k := a.cp.keys
		resp, err := a.cp.etcd.Txn(ctx).If(notAssigned(k, c.Name)...).
			Then(clientv3.OpDelete(k.offsets(c.Name), clientv3.WithPrefix())).Commit()
		if err != nil {
			return nil, etcdErr(err)
		}
		if !resp.Succeeded {
			return nil, connect.NewError(connect.CodeAborted, fmt.Errorf("connector %s changed meanwhile; try again", c.Name))
		}
	}
	a.cp.log.Info("connector offsets reset", "connector", c.Name)
	return connect.NewResponse(&sluicev1.ResetConnectorOffsetsResponse{
		Message: "The offsets for this connector have been reset successfully"}), nil
}

// canonicalObject re-encodes a JSON object with sorted keys and numbers as
// written, the way agents encode partitions (so keys compare equal).
func canonicalObject(s string) (string, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return "", false
	}
	return mustJSON(m), true
}
