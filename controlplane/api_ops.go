package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors"
)

// restartTask gives tk, assigned as as, a new restart number under a new
// epoch, on the agent that runs it: the agent stops the task and starts it
// again.
func (a *connectorAPI) restartTask(ctx context.Context, tk taskKey, as assignment) error {
	rec := as.assignRecord
	rec.Restart++
	k := a.cp.keys
	resp, err := a.cp.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k.assign(tk)), "=", as.Epoch)).
		Then(clientv3.OpPut(k.assign(tk), mustJSON(rec))).Commit()
	if err != nil {
		return etcdErr(err)
	}
	if !resp.Succeeded {
		return connect.NewError(connect.CodeAborted, fmt.Errorf("task %s moved meanwhile; try again", tk))
	}
	a.cp.log.Info("task restart requested", "connector", tk.Connector, "task", tk.Task, "agent", as.Agent)
	return nil
}

// RestartConnector restarts a connector and, with include_tasks, its tasks.
func (a *connectorAPI) RestartConnector(ctx context.Context, req *connect.Request[sluicev1.RestartConnectorRequest]) (*connect.Response[sluicev1.RestartConnectorResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	name := req.Msg.GetName()
	st, snap, err := a.status(ctx, name)
	if err != nil {
		return nil, err
	}
	c := snap.connectors[name]
	if c.TargetState == targetStopped {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
			"connector %s is STOPPED: resume it (sluice connector resume %s) instead of restarting it", name, name))
	}
	// The connector instance lives on the control plane and never fails
	// on its own: restarting it generates the task configs again.
	if !req.Msg.GetOnlyFailed() {
		if err := a.regenerate(ctx, c, snap); err != nil {
			return nil, err
		}
		st.Connector.State = sluicev1.State_STATE_RESTARTING
	}
	if req.Msg.GetIncludeTasks() {
		for _, ts := range st.Tasks {
			if req.Msg.GetOnlyFailed() && ts.State != sluicev1.State_STATE_FAILED {
				continue
			}
			tk := taskKey{name, int(ts.Id)}
			as, assigned := snap.assign[tk]
			if !assigned {
				continue
			}
			if err := a.restartTask(ctx, tk, as); err != nil {
				return nil, err
			}
			ts.State = sluicev1.State_STATE_RESTARTING
		}
	}
	return connect.NewResponse(&sluicev1.RestartConnectorResponse{Status: st}), nil
}

// regenerate computes c's task configs again and writes those that changed.
func (a *connectorAPI) regenerate(ctx context.Context, c *connectorRecord, snap *snapshot) error {
	_, taskCfgs, err := a.cp.cfg.Registry.TaskConfigs(c.Config)
	if err != nil {
		return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("connector %s: %w", c.Name, err))
	}
	k := a.cp.keys
	var ops []clientv3.Op
	for i, tc := range taskCfgs {
		if !maps.Equal(snap.tasks[taskKey{c.Name, i}], tc) {
			ops = append(ops, clientv3.OpPut(k.task(taskKey{c.Name, i}), mustJSON(tc)))
		}
	}
	if len(ops) == 0 && len(taskCfgs) == c.Tasks {
		return nil
	}
	for i := len(taskCfgs); i < c.Tasks; i++ {
		ops = append(ops, clientv3.OpDelete(k.task(taskKey{c.Name, i})))
	}
	rec := *c
	rec.Tasks = len(taskCfgs)
	ops = append(ops, clientv3.OpPut(k.connector(c.Name), mustJSON(rec)))
	resp, err := a.cp.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k.connector(c.Name)), "=", snap.connRev[c.Name])).
		Then(ops...).Commit()
	if err != nil {
		return etcdErr(err)
	}
	if !resp.Succeeded {
		return connect.NewError(connect.CodeAborted, fmt.Errorf("connector %s changed meanwhile; try again", c.Name))
	}
	return nil
}

// RestartTask restarts one task where it runs. It reads only the connector
// and the task's assignment.
func (a *connectorAPI) RestartTask(ctx context.Context, req *connect.Request[sluicev1.RestartTaskRequest]) (*connect.Response[sluicev1.RestartTaskResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	name, id := req.Msg.GetName(), int(req.Msg.GetTask())
	if err := validName(name); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	tk := taskKey{name, id}
	k := a.cp.keys
	resp, err := a.cp.etcd.Txn(ctx).Then(clientv3.OpGet(k.connector(name)), clientv3.OpGet(k.assign(tk))).Commit()
	if err != nil {
		return nil, etcdErr(err)
	}
	ckv, akv := resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs
	if len(ckv) == 0 {
		return nil, errNotFound("connector %s not found", name)
	}
	var c connectorRecord
	if err := json.Unmarshal(ckv[0].Value, &c); err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stored connector %s: %w", name, err))
	}
	if id < 0 || id >= c.Tasks {
		return nil, errNotFound("connector %s has no task %d (it has %d)", name, id, c.Tasks)
	}
	if len(akv) == 0 || c.TargetState == targetStopped {
		why := "it is waiting to be placed (sluice connector status " + name + " says why)"
		if c.TargetState == targetStopped {
			why = "the connector is STOPPED"
		}
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(
			"task %d of connector %s runs on no agent, so there is nothing to restart: %s", id, name, why))
	}
	var rec assignRecord
	if err := json.Unmarshal(akv[0].Value, &rec); err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stored assignment %s: %w", tk, err))
	}
	if err := a.restartTask(ctx, tk, assignment{assignRecord: rec, Epoch: akv[0].ModRevision}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.RestartTaskResponse{Task: &sluicev1.TaskStatus{
		Id: int32(id), State: sluicev1.State_STATE_RESTARTING, WorkerId: rec.Agent}}), nil
}

// ValidateConnectorConfig checks a config and describes every field.
func (a *connectorAPI) ValidateConnectorConfig(_ context.Context, req *connect.Request[sluicev1.ValidateConnectorConfigRequest]) (*connect.Response[sluicev1.ValidateConnectorConfigResponse], error) {
	raw := req.Msg.GetConfig()
	p, errs := a.cp.cfg.Registry.Validate(raw)
	errs = append(errs, a.extraProblems(raw)...)
	spec := connectors.CommonSpec
	res := &sluicev1.ValidateConnectorConfigResponse{}
	if p != nil {
		spec = p.FullSpec()
		res.Name = p.Name
		if p.Class != "" {
			res.Name = p.Class[strings.LastIndexByte(p.Class, '.')+1:]
		}
	} else {
		res.Name = raw[connectors.KeyConnectorClass]
	}
	byField := map[string][]string{}
	for _, e := range errs {
		byField[e.Field] = append(byField[e.Field], e.Reason)
	}
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, f := range spec.Fields {
		seen[f.Name] = true
		if f.Group != "" && !groups[f.Group] {
			groups[f.Group] = true
			res.Groups = append(res.Groups, f.Group)
		}
		v, ok := raw[f.Name]
		if !ok {
			v = f.Default
		}
		if f.Type == connectors.TypePassword && v != "" {
			v = "[hidden]"
		}
		res.Configs = append(res.Configs, &sluicev1.ConfigInfo{
			Definition: &sluicev1.ConfigField{Name: f.Name, Type: string(f.Type), DefaultValue: f.Default, Required: f.Required,
				Importance: f.Importance, Documentation: f.Doc, Group: f.Group, AllowedValues: f.Allowed},
			Value: &sluicev1.ConfigValue{Name: f.Name, Value: v, RecommendedValues: f.Allowed, Errors: byField[f.Name], Visible: true},
		})
	}
	// Problems with keys outside the spec (transforms.*, converter
	// options) are listed too.
	for _, e := range errs {
		if seen[e.Field] {
			continue
		}
		seen[e.Field] = true
		res.Configs = append(res.Configs, &sluicev1.ConfigInfo{
			Definition: &sluicev1.ConfigField{Name: e.Field, Type: string(connectors.TypeString)},
			Value:      &sluicev1.ConfigValue{Name: e.Field, Value: raw[e.Field], Errors: byField[e.Field], Visible: true},
		})
	}
	res.ErrorCount = int32(len(errs))
	return connect.NewResponse(res), nil
}
