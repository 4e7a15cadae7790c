// Package kcjson renders Sluice's API messages in Kafka Connect's REST JSON
// shapes (ConnectorInfo, ConnectorStateInfo, TaskInfo, ConfigInfos,
// ConfigKeyInfo). The control plane's Kafka Connect REST API and the CLI's
// -o json both use it, so the shapes are written once.
package kcjson

import (
	"log/slog"
	"strings"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// TypeName is a connector type as Kafka Connect writes it.
func TypeName(t sluicev1.ConnectorType) string {
	switch t {
	case sluicev1.ConnectorType_CONNECTOR_TYPE_SOURCE:
		return "source"
	case sluicev1.ConnectorType_CONNECTOR_TYPE_SINK:
		return "sink"
	}
	return "unknown"
}

// StateName is a state as Kafka Connect writes it.
func StateName(s sluicev1.State) string {
	if s == sluicev1.State_STATE_UNSPECIFIED {
		return "UNASSIGNED"
	}
	return strings.TrimPrefix(s.String(), "STATE_")
}

// ConnectorInfo is Kafka Connect's ConnectorInfo.
func ConnectorInfo(c *sluicev1.Connector) map[string]any {
	tasks := []map[string]any{}
	for _, t := range c.GetTasks() {
		tasks = append(tasks, map[string]any{"connector": c.GetName(), "task": t.GetTask()})
	}
	cfg := c.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	return map[string]any{"name": c.GetName(), "config": cfg, "tasks": tasks, "type": TypeName(c.GetType())}
}

// TaskStateInfo is Kafka Connect's TaskState.
func TaskStateInfo(t *sluicev1.TaskStatus) map[string]any {
	m := map[string]any{"id": t.GetId(), "state": StateName(t.GetState()), "worker_id": t.GetWorkerId()}
	if t.GetTrace() != "" {
		m["trace"] = t.GetTrace()
	}
	return m
}

// ConnectorStateInfo is Kafka Connect's ConnectorStateInfo.
func ConnectorStateInfo(st *sluicev1.ConnectorStatus) map[string]any {
	conn := map[string]any{"state": StateName(st.GetConnector().GetState()), "worker_id": st.GetConnector().GetWorkerId()}
	if tr := st.GetConnector().GetTrace(); tr != "" {
		conn["trace"] = tr
	}
	tasks := []map[string]any{}
	for _, t := range st.GetTasks() {
		tasks = append(tasks, TaskStateInfo(t))
	}
	return map[string]any{"name": st.GetName(), "connector": conn, "tasks": tasks, "type": TypeName(st.GetType())}
}

// ConfigKeyInfo is Kafka Connect's ConfigKeyInfo (order is 1-based).
func ConfigKeyInfo(f *sluicev1.ConfigField, order int) map[string]any {
	var def any
	if f.GetDefaultValue() != "" {
		def = f.GetDefaultValue()
	}
	return map[string]any{"name": f.GetName(), "type": f.GetType(), "required": f.GetRequired(), "default_value": def,
		"importance": f.GetImportance(), "documentation": f.GetDocumentation(), "group": f.GetGroup(),
		"order": order, "width": "NONE", "display_name": f.GetName(), "dependents": []string{}}
}

// ConfigInfos is Kafka Connect's validation answer.
func ConfigInfos(v *sluicev1.ValidateConnectorConfigResponse) map[string]any {
	configs := []map[string]any{}
	for i, ci := range v.GetConfigs() {
		val := ci.GetValue()
		var value any
		if val.GetValue() != "" {
			value = val.GetValue()
		}
		configs = append(configs, map[string]any{
			"definition": ConfigKeyInfo(ci.GetDefinition(), i+1),
			"value": map[string]any{"name": val.GetName(), "value": value, "recommended_values": nonNil(val.GetRecommendedValues()),
				"errors": nonNil(val.GetErrors()), "visible": val.GetVisible()},
		})
	}
	return map[string]any{"name": v.GetName(), "error_count": v.GetErrorCount(), "groups": nonNil(v.GetGroups()), "configs": configs}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var (
	levelToKafka = map[slog.Level]string{slog.LevelDebug: "DEBUG", slog.LevelInfo: "INFO", slog.LevelWarn: "WARN", slog.LevelError: "ERROR"}
	kafkaToLevel = map[string]slog.Level{"TRACE": slog.LevelDebug, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo,
		"WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError}
)

// ParseLevel reads a log level as /admin/loggers names it: TRACE, DEBUG,
// INFO, WARN, ERROR or FATAL, in any case (TRACE is DEBUG, FATAL ERROR).
func ParseLevel(name string) (slog.Level, bool) {
	l, ok := kafkaToLevel[strings.ToUpper(strings.TrimSpace(name))]
	return l, ok
}

// LevelName is a level as /admin/loggers names it.
func LevelName(l slog.Level) string {
	if n, ok := levelToKafka[l]; ok {
		return n
	}
	return l.String()
}
