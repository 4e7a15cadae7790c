package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/kcjson"
	client "github.com/sluicehq/sluice/clients/go"
)

func newConnectorCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "connector",
		Aliases: []string{"connectors", "c"},
		Short:   "Create, inspect and delete connectors",
	}

	var file, initial string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create a connector, or update its config, from a YAML or JSON file",
		Long: `Create a connector, or replace the config of an existing one. The file is
YAML or JSON, in Kafka Connect's create-request shape:

  name: copy-logs
  config:
    connector.class: file-source     # or org.apache.kafka.connect.file.FileStreamSourceConnector
    file: /var/log/app.log
    topic: logs
    value.converter: string

A flat config map that contains "name" works too, as in Kafka Connect's
PUT /connectors/{name}/config. "-" reads the file from standard input.`,
		Example: `  sluice connector apply -f copy-logs.yaml
  cat connector.json | sluice connector apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return &exitError{2, "apply needs -f FILE (or -f - for standard input)"}
			}
			name, config, err := readConnectorFile(file)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			req := &sluicev1.ApplyConnectorRequest{Name: name, Config: config}
			switch strings.ToUpper(initial) {
			case "":
			case "RUNNING":
				req.InitialState = sluicev1.TargetState_TARGET_STATE_RUNNING
			case "PAUSED":
				req.InitialState = sluicev1.TargetState_TARGET_STATE_PAUSED
			case "STOPPED":
				req.InitialState = sluicev1.TargetState_TARGET_STATE_STOPPED
			default:
				return &exitError{2, fmt.Sprintf("--initial-state %q: want RUNNING, PAUSED or STOPPED", initial)}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ApplyConnector(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				return g.apiError(err)
			}
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, connectorJSON(res.Msg.GetConnector()))
			}
			verb := "updated"
			if res.Msg.GetCreated() {
				verb = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "connector %s %s (generation %d, %d tasks)\n", name, verb,
				res.Msg.GetConnector().GetGeneration(), len(res.Msg.GetConnector().GetTasks()))
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "connector file (YAML or JSON), - for standard input")
	apply.Flags().StringVar(&initial, "initial-state", "", "state of a new connector: RUNNING (default), PAUSED or STOPPED")
	addServerFlags(apply, g)

	list := &cobra.Command{
		Use:   "list",
		Short: "List connectors with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ListConnectors(cmd.Context(), connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
			if err != nil {
				return g.apiError(err)
			}
			if g.output != "table" {
				out := []any{}
				for _, cn := range res.Msg.GetConnectors() {
					out = append(out, connectorJSON(cn))
				}
				return printStructured(cmd.OutOrStdout(), g.output, out)
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "TYPE", "CLASS", "TARGET", "TASKS", "GENERATION")
			for _, cn := range res.Msg.GetConnectors() {
				t.row(cn.GetName(), kcjson.TypeName(cn.GetType()), cn.GetConfig()["connector.class"], targetName(cn.GetTargetState()),
					fmt.Sprint(len(cn.GetTasks())), fmt.Sprint(cn.GetGeneration()))
			}
			return t.flush()
		},
	}
	addServerFlags(list, g)

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a connector's config and tasks",
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.GetConnector(cmd.Context(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: args[0]}))
			if err != nil {
				return g.apiError(err)
			}
			cn := res.Msg.GetConnector()
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, connectorJSON(cn))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "name:        %s\ntype:        %s\ntarget:      %s\ngeneration:  %d\ntasks:       %d\nconfig:\n",
				cn.GetName(), kcjson.TypeName(cn.GetType()), targetName(cn.GetTargetState()), cn.GetGeneration(), len(cn.GetTasks()))
			keys := make([]string, 0, len(cn.GetConfig()))
			for k := range cn.GetConfig() {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "  %s: %s\n", k, cn.GetConfig()[k])
			}
			return nil
		},
	}
	addServerFlags(get, g)

	status := &cobra.Command{
		Use:   "status NAME",
		Short: "Show the state of a connector and of each of its tasks",
		Long: `Show the state of a connector and of each of its tasks, as reported by the
agents that run them. -o json prints Kafka Connect's status shape
(GET /connectors/{name}/status) with Sluice's own fields beside it.`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.GetConnectorStatus(cmd.Context(), connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: args[0]}))
			if err != nil {
				return g.apiError(err)
			}
			st := res.Msg.GetStatus()
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, statusJSON(st))
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	addServerFlags(status, g)

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Stop a connector's tasks and delete it (its source offsets stay, as in Kafka Connect: a connector created again under the name resumes)",
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.Connectors.DeleteConnector(cmd.Context(), connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: args[0]})); err != nil {
				return g.apiError(err)
			}
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, map[string]any{"name": args[0], "deleted": true})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "connector %s deleted\n", args[0])
			return nil
		},
	}
	addServerFlags(del, g)

	lifecycle := func(verb, short string, call func(ctx context.Context, c *client.Client, name string) (*sluicev1.Connector, error)) *cobra.Command {
		return &cobra.Command{
			Use:   verb + " NAME",
			Short: short,
			Args:  exactName,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				cn, err := call(cmd.Context(), c, args[0])
				if err != nil {
					return g.apiError(err)
				}
				if g.output != "table" {
					return printStructured(cmd.OutOrStdout(), g.output, connectorJSON(cn))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "connector %s: target state %s\n", args[0], targetName(cn.GetTargetState()))
				return nil
			},
		}
	}
	pause := lifecycle("pause", "Pause a connector: its tasks stay on their agents and stop moving data",
		func(ctx context.Context, c *client.Client, name string) (*sluicev1.Connector, error) {
			return connectorOf(c.Connectors.PauseConnector(ctx, connect.NewRequest(&sluicev1.PauseConnectorRequest{Name: name})))
		})
	resume := lifecycle("resume", "Resume a paused or stopped connector",
		func(ctx context.Context, c *client.Client, name string) (*sluicev1.Connector, error) {
			return connectorOf(c.Connectors.ResumeConnector(ctx, connect.NewRequest(&sluicev1.ResumeConnectorRequest{Name: name})))
		})
	stop := lifecycle("stop", "Stop a connector: its tasks end and free their agents; config and offsets stay",
		func(ctx context.Context, c *client.Client, name string) (*sluicev1.Connector, error) {
			return connectorOf(c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: name})))
		})
	for _, c := range []*cobra.Command{pause, resume, stop} {
		addServerFlags(c, g)
	}

	var includeTasks, onlyFailed bool
	var taskID int
	restart := &cobra.Command{
		Use:   "restart NAME",
		Short: "Restart a connector, its tasks (--include-tasks), only the failed ones (--only-failed), or one task (--task N)",
		Long: `Restart a connector as Kafka Connect's POST /connectors/{name}/restart does
(KIP-745). The connector itself runs on the control plane: restarting it
generates its task configs again, and only tasks whose config changed restart
because of that. --include-tasks also restarts its tasks where they run, under
a new epoch; with --only-failed, only the FAILED ones. --task N restarts one
task.

Failed tasks restart by themselves with backoff (1s doubling to 1 min), so
this is for when you fixed the cause and do not want to wait.`,
		Example: `  sluice connector restart copy-logs --include-tasks --only-failed
  sluice connector restart copy-logs --task 2`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("task") {
				res, err := c.Connectors.RestartTask(cmd.Context(), connect.NewRequest(&sluicev1.RestartTaskRequest{Name: args[0], Task: int32(taskID)}))
				if err != nil {
					return g.apiError(err)
				}
				ts := res.Msg.GetTask()
				if g.output != "table" {
					return printStructured(cmd.OutOrStdout(), g.output, map[string]any{"id": ts.GetId(), "state": kcjson.StateName(ts.GetState()), "worker_id": ts.GetWorkerId()})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "task %d of connector %s restarting on agent %s\n", ts.GetId(), args[0], ts.GetWorkerId())
				return nil
			}
			res, err := c.Connectors.RestartConnector(cmd.Context(), connect.NewRequest(&sluicev1.RestartConnectorRequest{
				Name: args[0], IncludeTasks: includeTasks, OnlyFailed: onlyFailed}))
			if err != nil {
				return g.apiError(err)
			}
			st := res.Msg.GetStatus()
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, statusJSON(st))
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	restart.Flags().BoolVar(&includeTasks, "include-tasks", false, "restart the connector's tasks too")
	restart.Flags().BoolVar(&onlyFailed, "only-failed", false, "restart only what FAILED")
	restart.Flags().IntVar(&taskID, "task", 0, "restart only this task")
	addServerFlags(restart, g)

	var vfile string
	validate := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a connector config without applying it: every problem, per field, with the field's docs",
		Long: `Check a connector config without applying it, as Kafka Connect's
PUT /connector-plugins/{plugin}/config/validate does. The file has the shape
apply reads. Prints each problem with the field's documentation and exits 1
when there is any; -o json prints Kafka Connect's ConfigInfos shape.`,
		Example: `  sluice connector validate -f copy-logs.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if vfile == "" {
				return &exitError{2, "validate needs -f FILE (or -f - for standard input)"}
			}
			name, config, err := readConnectorFile(vfile)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			if name != "" {
				config["name"] = name
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ValidateConnectorConfig(cmd.Context(), connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{Config: config}))
			if err != nil {
				return g.apiError(err)
			}
			v := res.Msg
			if g.output != "table" {
				if err := printStructured(cmd.OutOrStdout(), g.output, kcjson.ConfigInfos(v)); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				if v.GetErrorCount() == 0 {
					fmt.Fprintf(w, "%s: config is valid\n", v.GetName())
					return nil
				}
				fmt.Fprintf(w, "%s: %d problem(s)\n", v.GetName(), v.GetErrorCount())
				for _, ci := range v.GetConfigs() {
					for _, e := range ci.GetValue().GetErrors() {
						fmt.Fprintf(w, "\n  %s: %s\n", ci.GetDefinition().GetName(), e)
						if d := ci.GetDefinition().GetDocumentation(); d != "" {
							fmt.Fprintf(w, "    %s\n", d)
						}
					}
				}
			}
			if v.GetErrorCount() > 0 {
				return &exitError{1, ""}
			}
			return nil
		},
	}
	validate.Flags().StringVarP(&vfile, "file", "f", "", "the connector's YAML or JSON file (- for standard input)")
	addServerFlags(validate, g)

	cmd.AddCommand(apply, list, get, status, del, pause, resume, stop, restart, validate, newTopicsCmd(g))
	return cmd
}

// connectorOf is the connector a lifecycle call answered with.
func connectorOf[T any, PT interface {
	*T
	GetConnector() *sluicev1.Connector
}](res *connect.Response[T], err error) (*sluicev1.Connector, error) {
	if err != nil {
		return nil, err
	}
	return PT(res.Msg).GetConnector(), nil
}

func exactName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return &exitError{2, fmt.Sprintf("%s needs the connector's name: sluice connector %s NAME", cmd.Name(), cmd.Name())}
	}
	return nil
}

// readConnectorFile reads {name, config} or a flat config with "name".
func readConnectorFile(path string) (string, map[string]string, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", nil, fmt.Errorf("read connector file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", nil, fmt.Errorf("connector file %s: not YAML or JSON: %w", path, err)
	}
	if doc == nil {
		return "", nil, fmt.Errorf("connector file %s is empty", path)
	}
	name, _ := doc["name"].(string)
	raw := doc
	if cfg, ok := doc["config"]; ok {
		m, ok := cfg.(map[string]any)
		if !ok {
			return "", nil, fmt.Errorf("connector file %s: config must be a map of keys to values", path)
		}
		raw = m
	}
	config := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			config[k] = v
		case nil:
			config[k] = ""
		case map[string]any, []any:
			return "", nil, fmt.Errorf("connector file %s: config key %q must be a single value, not a list or map", path, k)
		default:
			config[k] = fmt.Sprint(v)
		}
	}
	if cname, ok := config["name"]; ok && name != "" && cname != name {
		return "", nil, fmt.Errorf("connector file %s: name %q and config name %q differ", path, name, cname)
	}
	if name == "" {
		name = config["name"]
	}
	if name == "" {
		return "", nil, fmt.Errorf("connector file %s has no name", path)
	}
	config["name"] = name
	return name, config, nil
}

func targetName(s sluicev1.TargetState) string {
	return strings.TrimPrefix(s.String(), "TARGET_STATE_")
}

// connectorJSON is Kafka Connect's ConnectorInfo with Sluice's fields beside
// it.
func connectorJSON(cn *sluicev1.Connector) map[string]any {
	m := kcjson.ConnectorInfo(cn)
	m["target_state"], m["generation"] = targetName(cn.GetTargetState()), cn.GetGeneration()
	return m
}

// statusJSON is Kafka Connect's ConnectorStateInfo with Sluice's fields
// beside it.
func statusJSON(st *sluicev1.ConnectorStatus) map[string]any {
	m := kcjson.ConnectorStateInfo(st)
	for i, t := range m["tasks"].([]map[string]any) {
		ts := st.GetTasks()[i]
		t["epoch"], t["restarts"] = ts.GetEpoch(), ts.GetRestarts()
		if ts.GetMessage() != "" {
			t["message"] = ts.GetMessage()
		}
	}
	m["target_state"], m["generation"] = targetName(st.GetTargetState()), st.GetGeneration()
	return m
}

func printStatus(w io.Writer, st *sluicev1.ConnectorStatus) error {
	fmt.Fprintf(w, "connector %s (%s): %s on %s, target %s, generation %d\n", st.GetName(), kcjson.TypeName(st.GetType()),
		kcjson.StateName(st.GetConnector().GetState()), dash(st.GetConnector().GetWorkerId()), targetName(st.GetTargetState()), st.GetGeneration())
	if tr := st.GetConnector().GetTrace(); tr != "" {
		fmt.Fprintf(w, "  error: %s\n", firstLine(tr))
	}
	if len(st.GetTasks()) == 0 {
		fmt.Fprintln(w, "no tasks")
		return nil
	}
	t := newTable(w, "TASK", "STATE", "AGENT", "EPOCH", "RESTARTS", "MESSAGE")
	for _, ts := range st.GetTasks() {
		msg := ts.GetMessage()
		if ts.GetTrace() != "" {
			msg = "error: " + firstLine(ts.GetTrace())
		}
		t.row(fmt.Sprint(ts.GetId()), kcjson.StateName(ts.GetState()), dash(ts.GetWorkerId()), fmt.Sprint(ts.GetEpoch()),
			fmt.Sprint(ts.GetRestarts()), msg)
	}
	return t.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
