package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/transforms"
)

// apiTimeout bounds every etcd call an API request makes, so that an
// unreachable etcd gives a clear Unavailable error instead of a hang.
const apiTimeout = 5 * time.Second

func errNotFound(format string, args ...any) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf(format, args...))
}

// etcdErr turns an etcd failure into an API error.
func etcdErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("etcd is unavailable: %w", err))
}

// connectorAPI implements ConnectorService.
type connectorAPI struct{ cp *ControlPlane }

func validName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("connector name is empty")
	case strings.ContainsAny(name, "/\n\r\t"):
		return fmt.Errorf("connector name %q: must not contain '/' or control characters", name)
	case len(name) > 200:
		return fmt.Errorf("connector name %q: longer than 200 characters", name)
	}
	return nil
}

// ApplyConnector creates or updates a connector.
func (a *connectorAPI) ApplyConnector(ctx context.Context, req *connect.Request[sluicev1.ApplyConnectorRequest]) (*connect.Response[sluicev1.ApplyConnectorResponse], error) {
	cp := a.cp
	name := req.Msg.GetName()
	cfg := maps.Clone(req.Msg.GetConfig())
	if cfg == nil {
		cfg = map[string]string{}
	}
	if name == "" {
		name = cfg[connectors.KeyName]
	}
	if err := validName(name); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if n, ok := cfg[connectors.KeyName]; ok && n != name {
		return nil, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("name: the config names connector %q but the request names %q", n, name))
	}
	cfg[connectors.KeyName] = name
	p, taskCfgs, err := cp.cfg.Registry.TaskConfigs(cfg)
	if terrs := a.extraProblems(cfg); len(terrs) > 0 {
		var ve *connectors.ValidationError
		if !errors.As(err, &ve) {
			ve = &connectors.ValidationError{}
			if err != nil {
				// Report the transforms' problems beside the others.
				ve.Errors = append(ve.Errors, connectors.FieldError{Field: connectors.KeyConnectorClass, Reason: err.Error()})
			}
		}
		ve.Errors = append(ve.Errors, terrs...)
		err = ve
	}
	if err != nil {
		var ve *connectors.ValidationError
		if errors.As(err, &ve) {
			lines := make([]string, len(ve.Errors))
			for i, fe := range ve.Errors {
				lines[i] = "  " + fe.Error()
			}
			return nil, connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("connector %s has %d invalid config value(s):\n%s", name, len(ve.Errors), strings.Join(lines, "\n")))
		}
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	k := cp.keys
	for attempt := 0; ; attempt++ {
		resp, err := cp.etcd.Get(ctx, k.connector(name))
		if err != nil {
			return nil, etcdErr(err)
		}
		now := cp.cfg.Now().UTC()
		rec := connectorRecord{Name: name, Config: cfg, Type: p.Type.String(), Tasks: len(taskCfgs),
			TargetState: targetRunning, Generation: 1, CreateTime: now, UpdateTime: now,
			TraceParent: tracing.TraceParent(ctx)}
		var prevRev int64
		created := true
		oldTasks := 0
		if len(resp.Kvs) > 0 {
			var old connectorRecord
			if err := json.Unmarshal(resp.Kvs[0].Value, &old); err != nil {
				return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stored connector %s: %w", name, err))
			}
			created = false
			prevRev = resp.Kvs[0].ModRevision
			oldTasks = old.Tasks
			rec.TargetState, rec.CreateTime, rec.TopicsReset = old.TargetState, old.CreateTime, old.TopicsReset
			if maps.Equal(old.Config, cfg) {
				// Nothing changed: answer with what is there.
				return connect.NewResponse(&sluicev1.ApplyConnectorResponse{Connector: connectorProto(&old, taskCfgsOf(old, nil))}), nil
			}
			rec.Generation = old.Generation + 1
		} else if s := req.Msg.GetInitialState(); s != sluicev1.TargetState_TARGET_STATE_UNSPECIFIED {
			rec.TargetState = targetName(s)
		}
		ops := []clientv3.Op{clientv3.OpPut(k.connector(name), mustJSON(rec))}
		for i, tc := range taskCfgs {
			ops = append(ops, clientv3.OpPut(k.task(taskKey{name, i}), mustJSON(tc)))
		}
		for i := len(taskCfgs); i < oldTasks; i++ {
			ops = append(ops, clientv3.OpDelete(k.task(taskKey{name, i})))
		}
		txn, err := cp.etcd.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k.connector(name)), "=", prevRev)).Then(ops...).Commit()
		if err != nil {
			return nil, etcdErr(err)
		}
		if !txn.Succeeded {
			if attempt < 5 {
				continue // changed concurrently: read again
			}
			return nil, connect.NewError(connect.CodeAborted, fmt.Errorf("connector %s is being changed concurrently; try again", name))
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		cp.log.InfoContext(ctx, "connector "+verb, "connector", name, "class", p.Name, "tasks", len(taskCfgs), "generation", rec.Generation)
		return connect.NewResponse(&sluicev1.ApplyConnectorResponse{
			Connector: connectorProto(&rec, taskCfgs),
			Created:   created,
		}), nil
	}
}

func targetName(s sluicev1.TargetState) string {
	switch s {
	case sluicev1.TargetState_TARGET_STATE_PAUSED:
		return targetPaused
	case sluicev1.TargetState_TARGET_STATE_STOPPED:
		return targetStopped
	default:
		return targetRunning
	}
}

func targetProto(s string) sluicev1.TargetState {
	switch s {
	case targetPaused:
		return sluicev1.TargetState_TARGET_STATE_PAUSED
	case targetStopped:
		return sluicev1.TargetState_TARGET_STATE_STOPPED
	default:
		return sluicev1.TargetState_TARGET_STATE_RUNNING
	}
}

func typeProto(t string) sluicev1.ConnectorType {
	switch t {
	case "source":
		return sluicev1.ConnectorType_CONNECTOR_TYPE_SOURCE
	case "sink":
		return sluicev1.ConnectorType_CONNECTOR_TYPE_SINK
	default:
		return sluicev1.ConnectorType_CONNECTOR_TYPE_UNSPECIFIED
	}
}

// taskCfgsOf returns the task configs of c found in tasks (nil entries
// for tasks not found).
func taskCfgsOf(c connectorRecord, tasks map[taskKey]map[string]string) []map[string]string {
	out := make([]map[string]string, c.Tasks)
	for i := range out {
		out[i] = tasks[taskKey{c.Name, i}]
	}
	return out
}

func connectorProto(c *connectorRecord, tasks []map[string]string) *sluicev1.Connector {
	out := &sluicev1.Connector{
		Name:        c.Name,
		Config:      c.Config,
		TargetState: targetProto(c.TargetState),
		Type:        typeProto(c.Type),
		Generation:  c.Generation,
		CreateTime:  timestamppb.New(c.CreateTime),
		UpdateTime:  timestamppb.New(c.UpdateTime),
	}
	for i, tc := range tasks {
		out.Tasks = append(out.Tasks, &sluicev1.TaskConfig{Task: int32(i), Config: tc})
	}
	return out
}

// GetConnector returns a connector's config and task configs.
func (a *connectorAPI) GetConnector(ctx context.Context, req *connect.Request[sluicev1.GetConnectorRequest]) (*connect.Response[sluicev1.GetConnectorResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	snap, err := load(ctx, a.cp.etcd, a.cp.keys)
	if err != nil {
		return nil, etcdErr(err)
	}
	c, ok := snap.connectors[req.Msg.GetName()]
	if !ok {
		return nil, errNotFound("connector %s not found", req.Msg.GetName())
	}
	return connect.NewResponse(&sluicev1.GetConnectorResponse{Connector: connectorProto(c, taskCfgsOf(*c, snap.tasks))}), nil
}

// ListConnectors returns every connector, sorted by name.
func (a *connectorAPI) ListConnectors(ctx context.Context, _ *connect.Request[sluicev1.ListConnectorsRequest]) (*connect.Response[sluicev1.ListConnectorsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	snap, err := load(ctx, a.cp.etcd, a.cp.keys)
	if err != nil {
		return nil, etcdErr(err)
	}
	res := &sluicev1.ListConnectorsResponse{}
	for _, name := range slices.Sorted(maps.Keys(snap.connectors)) {
		c := snap.connectors[name]
		res.Connectors = append(res.Connectors, connectorProto(c, taskCfgsOf(*c, snap.tasks)))
	}
	return connect.NewResponse(res), nil
}

// DeleteConnector removes a connector, its tasks and their statuses. Its
// committed offsets stay, as in Kafka Connect: a connector created again
// under the same name resumes from them.
func (a *connectorAPI) DeleteConnector(ctx context.Context, req *connect.Request[sluicev1.DeleteConnectorRequest]) (*connect.Response[sluicev1.DeleteConnectorResponse], error) {
	cp := a.cp
	name := req.Msg.GetName()
	if err := validName(name); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	resp, err := cp.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(cp.keys.connector(name)), ">", 0)).
		Then(
			clientv3.OpDelete(cp.keys.connector(name)),
			clientv3.OpDelete(cp.keys.tasks(name), clientv3.WithPrefix()),
			clientv3.OpDelete(cp.keys.statuses(name), clientv3.WithPrefix()),
			clientv3.OpDelete(cp.keys.topics(name), clientv3.WithPrefix()),
		).Commit()
	if err != nil {
		return nil, etcdErr(err)
	}
	if !resp.Succeeded {
		return nil, errNotFound("connector %s not found", name)
	}
	cp.log.Info("connector deleted", "connector", name)
	return connect.NewResponse(&sluicev1.DeleteConnectorResponse{}), nil
}

// GetConnectorStatus combines desired state, assignments and what agents
// reported. A task shows the state its agent reported under its current
// epoch; otherwise UNASSIGNED, with the reason in its message.
func (a *connectorAPI) GetConnectorStatus(ctx context.Context, req *connect.Request[sluicev1.GetConnectorStatusRequest]) (*connect.Response[sluicev1.GetConnectorStatusResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	st, _, err := a.status(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.GetConnectorStatusResponse{Status: st}), nil
}

// status builds a connector's status from one snapshot.
func (a *connectorAPI) status(ctx context.Context, name string) (*sluicev1.ConnectorStatus, *snapshot, error) {
	snap, err := load(ctx, a.cp.etcd, a.cp.keys)
	if err != nil {
		return nil, nil, etcdErr(err)
	}
	st, err := a.statusIn(ctx, snap, name)
	return st, snap, err
}

// statusIn builds a connector's status from snap and the statuses agents
// reported at snap's revision.
func (a *connectorAPI) statusIn(ctx context.Context, snap *snapshot, name string) (*sluicev1.ConnectorStatus, error) {
	cp := a.cp
	c, ok := snap.connectors[name]
	if !ok {
		return nil, errNotFound("connector %s not found", name)
	}
	sresp, err := cp.etcd.Get(ctx, cp.keys.statuses(name), clientv3.WithPrefix(), clientv3.WithRev(snap.rev))
	if err != nil {
		return nil, etcdErr(err)
	}
	statuses := map[int]statusRecord{}
	for _, kv := range sresp.Kvs {
		tk, ok := parseTaskKey(strings.TrimPrefix(string(kv.Key), cp.keys.prefix+pfxStatus))
		if !ok {
			continue
		}
		var st statusRecord
		if json.Unmarshal(kv.Value, &st) == nil {
			statuses[tk.Task] = st
		}
	}
	leader := cp.leaderName(ctx)
	p := newPlacer(snap)
	st := &sluicev1.ConnectorStatus{
		Name:        name,
		Type:        typeProto(c.Type),
		TargetState: targetProto(c.TargetState),
		Generation:  c.Generation,
		Connector:   &sluicev1.InstanceStatus{State: connectorState(c.TargetState), WorkerId: leader},
	}
	for i := range c.Tasks {
		tk := taskKey{name, i}
		ts := &sluicev1.TaskStatus{Id: int32(i), State: sluicev1.State_STATE_UNASSIGNED}
		if c.TargetState == targetStopped {
			// Its agent stops it; the assignment goes a moment later.
			ts.State = sluicev1.State_STATE_STOPPED
		} else if as, ok := snap.assign[tk]; ok {
			ts.WorkerId, ts.Epoch = as.Agent, as.Epoch
			if r, ok := statuses[i]; ok && r.Epoch == as.Epoch && r.Agent == as.Agent {
				ts.State = stateProto(r.State)
				ts.Trace, ts.Message, ts.Restarts = r.Trace, r.Message, r.Restarts
				ts.UpdateTime = timestamppb.New(r.UpdateTime)
				if snap.moving(tk) {
					m := snap.moves[tk]
					ts.Message = fmt.Sprintf("moving off agent %s (%s): the agent stops the task and releases it", as.Agent, m.Reason)
				}
			} else if _, alive := snap.agents[as.Agent]; !alive {
				ts.Message = "agent " + as.Agent + " is lost; the task moves if it does not return"
			} else {
				ts.Message = "starting on agent " + as.Agent
			}
		} else {
			ts.Message = p.whyUnplaced(name)
		}
		st.Tasks = append(st.Tasks, ts)
	}
	return st, nil
}

func connectorState(target string) sluicev1.State {
	switch target {
	case targetPaused:
		return sluicev1.State_STATE_PAUSED
	case targetStopped:
		return sluicev1.State_STATE_STOPPED
	default:
		return sluicev1.State_STATE_RUNNING
	}
}

func stateProto(s string) sluicev1.State {
	for k, v := range stateNames {
		if v == s {
			return k
		}
	}
	return sluicev1.State_STATE_UNSPECIFIED
}

// ListPlugins lists the connector plugins with their config fields.
func (a *connectorAPI) ListPlugins(context.Context, *connect.Request[sluicev1.ListPluginsRequest]) (*connect.Response[sluicev1.ListPluginsResponse], error) {
	res := &sluicev1.ListPluginsResponse{}
	for _, p := range a.cp.cfg.Registry.Plugins() {
		pp := &sluicev1.Plugin{Name: p.Name, Class: p.Class, Aliases: p.Aliases, Version: p.Version, Description: p.Description}
		switch p.Type {
		case connectors.SourceType:
			pp.Type = sluicev1.PluginType_PLUGIN_TYPE_SOURCE
		case connectors.SinkType:
			pp.Type = sluicev1.PluginType_PLUGIN_TYPE_SINK
		}
		pp.Config = fieldsProto(p.FullSpec())
		res.Plugins = append(res.Plugins, pp)
	}
	for _, class := range converter.Classes() {
		res.Plugins = append(res.Plugins, &sluicev1.Plugin{Name: class[strings.LastIndexByte(class, '.')+1:], Class: class,
			Type: sluicev1.PluginType_PLUGIN_TYPE_CONVERTER, Version: Version})
	}
	res.Plugins = append(res.Plugins, &sluicev1.Plugin{Name: "SimpleHeaderConverter", Class: headerConverters[0],
		Type: sluicev1.PluginType_PLUGIN_TYPE_HEADER_CONVERTER, Version: Version})
	for _, t := range a.cp.cfg.Transforms.Plugins() {
		pp := &sluicev1.Plugin{Name: t.Name, Class: t.Class, Description: t.Description, Config: fieldsProto(t.Spec),
			Type: sluicev1.PluginType_PLUGIN_TYPE_TRANSFORMATION}
		if t.Kind == transforms.KindPredicate {
			pp.Type = sluicev1.PluginType_PLUGIN_TYPE_PREDICATE
		}
		res.Plugins = append(res.Plugins, pp)
	}
	return connect.NewResponse(res), nil
}

func fieldsProto(spec connectors.Spec) []*sluicev1.ConfigField {
	var out []*sluicev1.ConfigField
	for _, f := range spec.Fields {
		out = append(out, &sluicev1.ConfigField{
			Name: f.Name, Type: string(f.Type), DefaultValue: f.Default, Required: f.Required,
			Importance: f.Importance, Documentation: f.Doc, Group: f.Group, AllowedValues: f.Allowed,
		})
	}
	return out
}

// clusterAPI implements ClusterService.
type clusterAPI struct{ cp *ControlPlane }

func (a *clusterAPI) agents(ctx context.Context) ([]*sluicev1.Agent, *snapshot, error) {
	snap, err := load(ctx, a.cp.etcd, a.cp.keys)
	if err != nil {
		return nil, nil, err
	}
	tasks := map[string][]*sluicev1.TaskRef{}
	for _, tk := range slices.SortedFunc(maps.Keys(snap.assign), func(x, y taskKey) int {
		if c := strings.Compare(x.Connector, y.Connector); c != 0 {
			return c
		}
		return x.Task - y.Task
	}) {
		as := snap.assign[tk]
		tasks[as.Agent] = append(tasks[as.Agent], &sluicev1.TaskRef{Connector: tk.Connector, Task: int32(tk.Task)})
	}
	var out []*sluicev1.Agent
	for _, name := range slices.Sorted(maps.Keys(snap.agents)) {
		ag := snap.agents[name]
		out = append(out, &sluicev1.Agent{Name: ag.Name, Labels: ag.Labels, Version: ag.Version, Capacity: ag.Capacity,
			Replica: ag.Replica, ConnectTime: timestamppb.New(ag.ConnectTime), Tasks: tasks[name]})
	}
	return out, snap, nil
}

// ListAgents lists the connected agents with their tasks.
func (a *clusterAPI) ListAgents(ctx context.Context, _ *connect.Request[sluicev1.ListAgentsRequest]) (*connect.Response[sluicev1.ListAgentsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	agents, _, err := a.agents(ctx)
	if err != nil {
		return nil, etcdErr(err)
	}
	return connect.NewResponse(&sluicev1.ListAgentsResponse{Agents: agents}), nil
}

// GetClusterStatus lists replicas, the leader and agents.
func (a *clusterAPI) GetClusterStatus(ctx context.Context, _ *connect.Request[sluicev1.GetClusterStatusRequest]) (*connect.Response[sluicev1.GetClusterStatusResponse], error) {
	cp := a.cp
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	agents, _, err := a.agents(ctx)
	if err != nil {
		return nil, etcdErr(err)
	}
	res := &sluicev1.GetClusterStatusResponse{Agents: agents}
	res.Leader = cp.leaderName(ctx)
	rr, err := cp.etcd.Get(ctx, cp.keys.prefix+pfxReplicas, clientv3.WithPrefix())
	if err != nil {
		return nil, etcdErr(err)
	}
	for _, kv := range rr.Kvs {
		var r replicaRecord
		if json.Unmarshal(kv.Value, &r) != nil {
			continue
		}
		res.Replicas = append(res.Replicas, &sluicev1.Replica{Name: r.Name, Address: r.Address, Version: r.Version,
			Leader: r.Name == res.Leader, StartTime: timestamppb.New(r.StartTime)})
	}
	res.Healthy = res.Leader != ""
	return connect.NewResponse(res), nil
}

// leaderName is the name of the replica that leads now, or "".
func (cp *ControlPlane) leaderName(ctx context.Context) string {
	lr, err := cp.etcd.Get(ctx, cp.keys.prefix+keyElection+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(lr.Kvs) == 0 {
		return ""
	}
	return string(lr.Kvs[0].Value)
}

// setTarget changes a connector's target state, keeping its config and
// generation (a state change is not a config change).
func (a *connectorAPI) setTarget(ctx context.Context, name, target string) (*sluicev1.Connector, error) {
	changed := false
	rec, err := a.modifyConnector(ctx, name, func(rec *connectorRecord) bool {
		changed = rec.TargetState != target
		rec.TargetState = target
		return changed
	})
	if err != nil {
		return nil, err
	}
	if changed {
		a.cp.log.Info("connector target state changed", "connector", name, "target", target)
	}
	return connectorProto(rec, nil), nil
}

// PauseConnector pauses a connector's tasks where they run.
func (a *connectorAPI) PauseConnector(ctx context.Context, req *connect.Request[sluicev1.PauseConnectorRequest]) (*connect.Response[sluicev1.PauseConnectorResponse], error) {
	c, err := a.setTarget(ctx, req.Msg.GetName(), targetPaused)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.PauseConnectorResponse{Connector: c}), nil
}

// ResumeConnector runs a paused or stopped connector again.
func (a *connectorAPI) ResumeConnector(ctx context.Context, req *connect.Request[sluicev1.ResumeConnectorRequest]) (*connect.Response[sluicev1.ResumeConnectorResponse], error) {
	c, err := a.setTarget(ctx, req.Msg.GetName(), targetRunning)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.ResumeConnectorResponse{Connector: c}), nil
}

// StopConnector stops a connector's tasks and frees them; config and
// offsets stay.
func (a *connectorAPI) StopConnector(ctx context.Context, req *connect.Request[sluicev1.StopConnectorRequest]) (*connect.Response[sluicev1.StopConnectorResponse], error) {
	c, err := a.setTarget(ctx, req.Msg.GetName(), targetStopped)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.StopConnectorResponse{Connector: c}), nil
}
