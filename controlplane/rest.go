package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/kcjson"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/internal/tracing"
)

// Kafka Connect's REST API, on the API port beside gRPC and Connect: the
// same paths, status codes, JSON shapes and error body
// ({"error_code":N,"message":"..."}). Every endpoint calls the
// ConnectorService implementation; this file only translates.

type restAPI struct {
	cp  *ControlPlane
	api *connectorAPI
}

func (r *restAPI) register(mux *http.ServeMux) {
	// Each route is traced under its pattern when tracing is on.
	handle := func(route string, h http.HandlerFunc) { mux.Handle(route, tracing.HTTP(route, h)) }
	handle("GET /{$}", r.serverInfo)
	handle("GET /health", r.health)
	handle("GET /connectors", r.listConnectors)
	handle("POST /connectors", r.createConnector)
	handle("GET /connectors/{name}", r.getConnector)
	handle("DELETE /connectors/{name}", r.deleteConnector)
	handle("GET /connectors/{name}/config", r.getConfig)
	handle("PUT /connectors/{name}/config", r.putConfig)
	handle("PATCH /connectors/{name}/config", r.patchConfig)
	handle("GET /connectors/{name}/status", r.getStatus)
	handle("POST /connectors/{name}/restart", r.restartConnector)
	handle("PUT /connectors/{name}/pause", r.lifecycle(targetPaused))
	handle("PUT /connectors/{name}/resume", r.lifecycle(targetRunning))
	handle("PUT /connectors/{name}/stop", r.lifecycle(targetStopped))
	handle("GET /connectors/{name}/tasks", r.getTasks)
	handle("GET /connectors/{name}/tasks/{task}/status", r.getTaskStatus)
	handle("POST /connectors/{name}/tasks/{task}/restart", r.restartTask)
	handle("GET /connectors/{name}/offsets", r.getOffsets)
	handle("PATCH /connectors/{name}/offsets", r.alterOffsets)
	handle("DELETE /connectors/{name}/offsets", r.resetOffsets)
	handle("GET /connector-plugins", r.listPlugins)
	handle("GET /connector-plugins/{plugin}/config", r.pluginConfig)
	handle("PUT /connector-plugins/{plugin}/config/validate", r.validate)
	handle("GET /connectors/{name}/tasks-config", r.getTasksConfig)
	handle("GET /connectors/{name}/topics", r.getTopics)
	handle("PUT /connectors/{name}/topics/reset", r.resetTopics)
	handle("GET /admin/loggers", r.getLoggers)
	handle("GET /admin/loggers/{logger}", r.getLogger)
	handle("PUT /admin/loggers/{logger}", r.putLogger)
}

// restError is Kafka Connect's error body.
type restError struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, restError{Code: status, Message: msg})
}

// fail answers with the HTTP status Kafka Connect gives for the error.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch connect.CodeOf(err) {
	case connect.CodeNotFound:
		status = http.StatusNotFound
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition:
		status = http.StatusBadRequest
	case connect.CodeAlreadyExists, connect.CodeAborted:
		status = http.StatusConflict
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded:
		status = http.StatusServiceUnavailable
	case connect.CodePermissionDenied:
		status = http.StatusForbidden
	}
	msg := err.Error()
	var ce *connect.Error
	if errors.As(err, &ce) {
		msg = ce.Message()
	}
	writeError(w, status, msg)
}

func readBody(w http.ResponseWriter, req *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "the request body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// health is Kafka Connect's GET /health (KIP-1017): healthy while etcd
// answers and a replica leads.
func (r *restAPI) health(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	if _, err := r.cp.etcd.Get(ctx, r.cp.keys.prefix+keyElection, clientv3.WithCountOnly()); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "unhealthy", "message": "etcd does not answer: " + err.Error()})
		return
	}
	if r.cp.leaderName(ctx) == "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting", "message": "No control plane replica leads yet."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
}

func (r *restAPI) serverInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": Version, "commit": "", "kafka_cluster_id": ""})
}

func (r *restAPI) listConnectors(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	res, err := r.api.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
	if err != nil {
		fail(w, err)
		return
	}
	expand := req.URL.Query()["expand"]
	if len(expand) == 0 {
		names := []string{}
		for _, c := range res.Msg.GetConnectors() {
			names = append(names, c.GetName())
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	// Statuses come from one read of the state, not one per connector.
	var snap *snapshot
	if slices.Contains(expand, "status") {
		if snap, err = load(ctx, r.cp.etcd, r.cp.keys); err != nil {
			fail(w, etcdErr(err))
			return
		}
	}
	out := map[string]map[string]any{}
	for _, c := range res.Msg.GetConnectors() {
		m := map[string]any{}
		for _, e := range expand {
			switch e {
			case "info":
				m["info"] = kcjson.ConnectorInfo(c)
			case "status":
				st, err := r.api.statusIn(ctx, snap, c.GetName())
				if connect.CodeOf(err) == connect.CodeNotFound {
					continue // deleted meanwhile
				}
				if err != nil {
					fail(w, err)
					return
				}
				m["status"] = kcjson.ConnectorStateInfo(st)
			}
		}
		out[c.GetName()] = m
	}
	writeJSON(w, http.StatusOK, out)
}

type createRequest struct {
	Name         string            `json:"name"`
	Config       map[string]string `json:"config"`
	InitialState string            `json:"initial_state"`
}

func initialState(s string) (sluicev1.TargetState, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return sluicev1.TargetState_TARGET_STATE_UNSPECIFIED, nil
	case "RUNNING":
		return sluicev1.TargetState_TARGET_STATE_RUNNING, nil
	case "PAUSED":
		return sluicev1.TargetState_TARGET_STATE_PAUSED, nil
	case "STOPPED":
		return sluicev1.TargetState_TARGET_STATE_STOPPED, nil
	}
	return 0, fmt.Errorf("initial_state %q: must be RUNNING, PAUSED or STOPPED", s)
}

func (r *restAPI) exists(ctx context.Context, name string) (bool, error) {
	_, err := r.api.GetConnector(ctx, connect.NewRequest(&sluicev1.GetConnectorRequest{Name: name}))
	switch {
	case err == nil:
		return true, nil
	case connect.CodeOf(err) == connect.CodeNotFound:
		return false, nil
	}
	return false, err
}

func (r *restAPI) createConnector(w http.ResponseWriter, req *http.Request) {
	var body createRequest
	if !readBody(w, req, &body) {
		return
	}
	if body.Name == "" {
		body.Name = body.Config[connectors.KeyName]
	}
	if body.Name == "" {
		writeError(w, http.StatusBadRequest, "connector name must be set: give \"name\" in the request")
		return
	}
	st, err := initialState(body.InitialState)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ok, err := r.exists(req.Context(), body.Name); err != nil {
		fail(w, err)
		return
	} else if ok {
		writeError(w, http.StatusConflict, "Connector "+body.Name+" already exists")
		return
	}
	res, err := r.api.ApplyConnector(req.Context(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: body.Name, Config: body.Config, InitialState: st}))
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Location", "/connectors/"+body.Name)
	writeJSON(w, http.StatusCreated, kcjson.ConnectorInfo(res.Msg.GetConnector()))
}

func (r *restAPI) getConnector(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnector(req.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, kcjson.ConnectorInfo(res.Msg.GetConnector()))
}

func (r *restAPI) deleteConnector(w http.ResponseWriter, req *http.Request) {
	if _, err := r.api.DeleteConnector(req.Context(), connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: req.PathValue("name")})); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *restAPI) getConfig(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnector(req.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res.Msg.GetConnector().GetConfig())
}

func (r *restAPI) apply(w http.ResponseWriter, req *http.Request, name string, cfg map[string]string, createdStatus int) {
	res, err := r.api.ApplyConnector(req.Context(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: name, Config: cfg}))
	if err != nil {
		fail(w, err)
		return
	}
	status := http.StatusOK
	if res.Msg.GetCreated() {
		status = createdStatus
		w.Header().Set("Location", "/connectors/"+name)
	}
	writeJSON(w, status, kcjson.ConnectorInfo(res.Msg.GetConnector()))
}

func (r *restAPI) putConfig(w http.ResponseWriter, req *http.Request) {
	var cfg map[string]string
	if !readBody(w, req, &cfg) {
		return
	}
	r.apply(w, req, req.PathValue("name"), cfg, http.StatusCreated)
}

// patchConfig merges the body into the config; a null value removes a key.
func (r *restAPI) patchConfig(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	var patch map[string]*string
	if !readBody(w, req, &patch) {
		return
	}
	res, err := r.api.GetConnector(req.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: name}))
	if err != nil {
		fail(w, err)
		return
	}
	cfg := maps.Clone(res.Msg.GetConnector().GetConfig())
	for k, v := range patch {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = *v
		}
	}
	r.apply(w, req, name, cfg, http.StatusOK)
}

func (r *restAPI) getStatus(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnectorStatus(req.Context(), connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, kcjson.ConnectorStateInfo(res.Msg.GetStatus()))
}

func queryBool(req *http.Request, key string) (bool, error) {
	v := req.URL.Query().Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: must be true or false", key, v)
	}
	return b, nil
}

func (r *restAPI) restartConnector(w http.ResponseWriter, req *http.Request) {
	includeTasks, err := queryBool(req, "includeTasks")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	onlyFailed, err := queryBool(req, "onlyFailed")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := r.api.RestartConnector(req.Context(), connect.NewRequest(&sluicev1.RestartConnectorRequest{
		Name: req.PathValue("name"), IncludeTasks: includeTasks, OnlyFailed: onlyFailed}))
	if err != nil {
		fail(w, err)
		return
	}
	if !includeTasks && !onlyFailed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusAccepted, kcjson.ConnectorStateInfo(res.Msg.GetStatus()))
}

func (r *restAPI) lifecycle(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if _, err := r.api.setTarget(req.Context(), req.PathValue("name"), target); err != nil {
			fail(w, err)
			return
		}
		if target == targetStopped {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

func (r *restAPI) getTasks(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnector(req.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	c := res.Msg.GetConnector()
	out := []map[string]any{}
	for _, t := range c.GetTasks() {
		out = append(out, map[string]any{"id": map[string]any{"connector": c.GetName(), "task": t.GetTask()}, "config": t.GetConfig()})
	}
	writeJSON(w, http.StatusOK, out)
}

// getTasksConfig is Kafka Connect's deprecated GET .../tasks-config
// (KIP-970): the task configs keyed "<name>-<task>".
func (r *restAPI) getTasksConfig(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnector(req.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	c := res.Msg.GetConnector()
	out := map[string]map[string]string{}
	for _, t := range c.GetTasks() {
		out[fmt.Sprintf("%s-%d", c.GetName(), t.GetTask())] = t.GetConfig()
	}
	writeJSON(w, http.StatusOK, out)
}

func taskID(w http.ResponseWriter, req *http.Request) (int32, bool) {
	n, err := strconv.Atoi(req.PathValue("task"))
	if err != nil || n < 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("task %q: not a task number", req.PathValue("task")))
		return 0, false
	}
	return int32(n), true
}

func (r *restAPI) getTaskStatus(w http.ResponseWriter, req *http.Request) {
	id, ok := taskID(w, req)
	if !ok {
		return
	}
	name := req.PathValue("name")
	res, err := r.api.GetConnectorStatus(req.Context(), connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: name}))
	if err != nil {
		fail(w, err)
		return
	}
	tasks := res.Msg.GetStatus().GetTasks()
	if int(id) >= len(tasks) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Task %s-%d not found", name, id))
		return
	}
	writeJSON(w, http.StatusOK, kcjson.TaskStateInfo(tasks[id]))
}

func (r *restAPI) restartTask(w http.ResponseWriter, req *http.Request) {
	id, ok := taskID(w, req)
	if !ok {
		return
	}
	if _, err := r.api.RestartTask(req.Context(), connect.NewRequest(&sluicev1.RestartTaskRequest{Name: req.PathValue("name"), Task: id})); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// offsetsBody is Kafka Connect's offsets body.
type offsetsBody struct {
	Offsets []offsetEntry `json:"offsets"`
}

type offsetEntry struct {
	Partition json.RawMessage `json:"partition"`
	Offset    json.RawMessage `json:"offset"`
}

func (r *restAPI) getOffsets(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.GetConnectorOffsets(req.Context(), connect.NewRequest(&sluicev1.GetConnectorOffsetsRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	out := offsetsBody{Offsets: []offsetEntry{}}
	for _, o := range res.Msg.GetOffsets() {
		out.Offsets = append(out.Offsets, offsetEntry{Partition: json.RawMessage(o.GetPartition()), Offset: json.RawMessage(o.GetOffset())})
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *restAPI) alterOffsets(w http.ResponseWriter, req *http.Request) {
	var body offsetsBody
	if !readBody(w, req, &body) {
		return
	}
	areq := &sluicev1.AlterConnectorOffsetsRequest{Name: req.PathValue("name")}
	for _, o := range body.Offsets {
		areq.Offsets = append(areq.Offsets, &sluicev1.SourceOffset{Partition: string(o.Partition), Offset: string(o.Offset)})
	}
	res, err := r.api.AlterConnectorOffsets(req.Context(), connect.NewRequest(areq))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": res.Msg.GetMessage()})
}

func (r *restAPI) resetOffsets(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.ResetConnectorOffsets(req.Context(), connect.NewRequest(&sluicev1.ResetConnectorOffsetsRequest{Name: req.PathValue("name")}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": res.Msg.GetMessage()})
}

var pluginTypeNames = map[sluicev1.PluginType]string{
	sluicev1.PluginType_PLUGIN_TYPE_SOURCE:           "source",
	sluicev1.PluginType_PLUGIN_TYPE_SINK:             "sink",
	sluicev1.PluginType_PLUGIN_TYPE_CONVERTER:        "converter",
	sluicev1.PluginType_PLUGIN_TYPE_HEADER_CONVERTER: "header_converter",
	sluicev1.PluginType_PLUGIN_TYPE_TRANSFORMATION:   "transformation",
	sluicev1.PluginType_PLUGIN_TYPE_PREDICATE:        "predicate",
}

func pluginClass(p *sluicev1.Plugin) string {
	if p.GetClass() != "" {
		return p.GetClass()
	}
	return p.GetName()
}

func (r *restAPI) listPlugins(w http.ResponseWriter, req *http.Request) {
	res, err := r.api.ListPlugins(req.Context(), connect.NewRequest(&sluicev1.ListPluginsRequest{}))
	if err != nil {
		fail(w, err)
		return
	}
	connectorsOnly := true
	if v := req.URL.Query().Get("connectorsOnly"); v != "" {
		connectorsOnly, _ = strconv.ParseBool(v)
	}
	out := []map[string]string{}
	for _, p := range res.Msg.GetPlugins() {
		t := pluginTypeNames[p.GetType()]
		if connectorsOnly && t != "source" && t != "sink" {
			continue
		}
		out = append(out, map[string]string{"class": pluginClass(p), "type": t, "version": p.GetVersion()})
	}
	slices.SortFunc(out, func(a, b map[string]string) int { return strings.Compare(a["class"], b["class"]) })
	writeJSON(w, http.StatusOK, out)
}

// findPlugin finds a plugin by class, simple class name or Sluice name.
func (r *restAPI) findPlugin(ctx context.Context, name string) (*sluicev1.Plugin, error) {
	res, err := r.api.ListPlugins(ctx, connect.NewRequest(&sluicev1.ListPluginsRequest{}))
	if err != nil {
		return nil, err
	}
	for _, p := range res.Msg.GetPlugins() {
		simple := p.GetClass()[strings.LastIndexByte(p.GetClass(), '.')+1:]
		if name == p.GetName() || name == p.GetClass() || (simple != "" && (name == simple || name+"Connector" == simple)) ||
			slices.Contains(p.GetAliases(), name) {
			return p, nil
		}
	}
	return nil, errNotFound("Unknown plugin %s", name)
}

func (r *restAPI) pluginConfig(w http.ResponseWriter, req *http.Request) {
	p, err := r.findPlugin(req.Context(), req.PathValue("plugin"))
	if err != nil {
		fail(w, err)
		return
	}
	out := []map[string]any{}
	for i, f := range p.GetConfig() {
		out = append(out, kcjson.ConfigKeyInfo(f, i+1))
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *restAPI) validate(w http.ResponseWriter, req *http.Request) {
	var cfg map[string]string
	if !readBody(w, req, &cfg) {
		return
	}
	p, err := r.findPlugin(req.Context(), req.PathValue("plugin"))
	if err != nil {
		fail(w, err)
		return
	}
	if class := cfg[connectors.KeyConnectorClass]; class != "" {
		if q, err := r.findPlugin(req.Context(), class); err != nil || q.GetName() != p.GetName() {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("connector.class %q does not name the plugin in the path, %s", class, req.PathValue("plugin")))
			return
		}
	} else {
		cfg[connectors.KeyConnectorClass] = pluginClass(p)
	}
	res, err := r.api.ValidateConnectorConfig(req.Context(), connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{Config: cfg}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, kcjson.ConfigInfos(res.Msg))
}

func (r *restAPI) getTopics(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	res, err := r.api.GetConnectorTopics(req.Context(), connect.NewRequest(&sluicev1.GetConnectorTopicsRequest{Name: name}))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{name: map[string]any{"topics": res.Msg.GetTopics()}})
}

func (r *restAPI) resetTopics(w http.ResponseWriter, req *http.Request) {
	if _, err := r.api.ResetConnectorTopics(req.Context(), connect.NewRequest(&sluicev1.ResetConnectorTopicsRequest{Name: req.PathValue("name")})); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// Sluice has one logger per process: /admin/loggers shows and sets its
// level as the root logger's, for this replica (scope=worker, the default)
// or for every replica and agent (scope=cluster).

func (r *restAPI) level() (string, bool) {
	if r.cp.cfg.LogLevel == nil {
		return "", false
	}
	l := kcjson.LevelName(r.cp.cfg.LogLevel.Level())
	return l, true
}

func (r *restAPI) modified() any {
	if ms := r.cp.levelModified.Load(); ms != 0 {
		return ms
	}
	return nil
}

func (r *restAPI) getLoggers(w http.ResponseWriter, _ *http.Request) {
	l, ok := r.level()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"root": map[string]any{"level": l, "last_modified": r.modified()}})
}

func (r *restAPI) getLogger(w http.ResponseWriter, req *http.Request) {
	l, ok := r.level()
	if !ok || req.PathValue("logger") != "root" {
		writeError(w, http.StatusNotFound, "Logger "+req.PathValue("logger")+" not found: Sluice has one logger per process, root")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"level": l, "last_modified": r.modified()})
}

func (r *restAPI) putLogger(w http.ResponseWriter, req *http.Request) {
	scope := strings.ToLower(req.URL.Query().Get("scope"))
	if scope != "" && scope != "worker" && scope != "cluster" {
		writeError(w, http.StatusBadRequest, "Invalid scope '"+req.URL.Query().Get("scope")+"': want worker (this replica, the default) or cluster (every replica and agent)")
		return
	}
	var body struct {
		Level string `json:"level"`
	}
	if !readBody(w, req, &body) {
		return
	}
	lv, ok := ParseLevel(body.Level)
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid log level '"+body.Level+"': want TRACE, DEBUG, INFO, WARN, ERROR or FATAL")
		return
	}
	if scope == "cluster" {
		// Kafka Connect answers 204 at once; the level reaches every
		// replica through etcd and every agent with its assignments.
		if err := r.cp.setClusterLevel(req.Context(), body.Level); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.cp.cfg.LogLevel == nil {
		writeError(w, http.StatusNotFound, "this control plane's log level cannot be changed at run time")
		return
	}
	r.cp.cfg.LogLevel.Set(lv)
	r.cp.levelModified.Store(time.Now().UnixMilli())
	r.cp.log.Info("log level changed", "level", body.Level)
	writeJSON(w, http.StatusOK, []string{"root"})
}
