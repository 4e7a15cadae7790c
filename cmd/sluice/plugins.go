package main

import (
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

func newPluginsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List the connectors the cluster can run, with their config keys",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List connector plugins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ListPlugins(cmd.Context(), connect.NewRequest(&sluicev1.ListPluginsRequest{}))
			if err != nil {
				return g.apiError(err)
			}
			if g.output != "table" {
				return printStructured(cmd.OutOrStdout(), g.output, res.Msg.GetPlugins())
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "TYPE", "CLASS", "DESCRIPTION")
			for _, p := range res.Msg.GetPlugins() {
				t.row(p.GetName(), strings.ToLower(strings.TrimPrefix(p.GetType().String(), "PLUGIN_TYPE_")), dash(p.GetClass()), firstLine(p.GetDescription()))
			}
			return t.flush()
		},
	}
	addServerFlags(list, g)
	describe := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a plugin's config keys with their defaults and docs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ListPlugins(cmd.Context(), connect.NewRequest(&sluicev1.ListPluginsRequest{}))
			if err != nil {
				return g.apiError(err)
			}
			for _, p := range res.Msg.GetPlugins() {
				names := append([]string{p.GetName(), p.GetClass()}, p.GetAliases()...)
				for _, n := range names {
					if n != "" && strings.EqualFold(n, args[0]) {
						if g.output != "table" {
							return printStructured(cmd.OutOrStdout(), g.output, p)
						}
						w := cmd.OutOrStdout()
						fmt.Fprintf(w, "%s (%s)\n%s\n\n", p.GetName(), dash(p.GetClass()), p.GetDescription())
						for _, f := range p.GetConfig() {
							req := ""
							if f.GetRequired() {
								req = ", required"
							}
							def := ""
							if f.GetDefaultValue() != "" {
								def = ", default " + f.GetDefaultValue()
							}
							fmt.Fprintf(w, "  %s (%s%s%s)\n      %s\n", f.GetName(), f.GetType(), req, def, f.GetDocumentation())
						}
						return nil
					}
				}
			}
			return &exitError{1, fmt.Sprintf("no plugin named %q (see sluice plugins list)", args[0])}
		},
	}
	addServerFlags(describe, g)
	cmd.AddCommand(list, describe)
	return cmd
}

func newClusterCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect the cluster: control plane replicas, leader, agents",
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the replicas, the leader and the agents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Cluster.GetClusterStatus(cmd.Context(), connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
			if err != nil {
				return g.apiError(err)
			}
			m := res.Msg
			if g.output != "table" {
				replicas := []map[string]any{}
				for _, r := range m.GetReplicas() {
					replicas = append(replicas, map[string]any{"name": r.GetName(), "address": r.GetAddress(), "leader": r.GetLeader(),
						"version": r.GetVersion(), "start_time": r.GetStartTime().AsTime()})
				}
				return printStructured(cmd.OutOrStdout(), g.output, map[string]any{
					"leader": m.GetLeader(), "healthy": m.GetHealthy(), "replicas": replicas, "agents": agentsJSON(m.GetAgents())})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "leader: %s   store healthy: %v\n\n", dash(m.GetLeader()), m.GetHealthy())
			t := newTable(w, "REPLICA", "ADDRESS", "LEADER", "VERSION", "STARTED")
			for _, r := range m.GetReplicas() {
				t.row(r.GetName(), r.GetAddress(), fmt.Sprint(r.GetLeader()), r.GetVersion(), since(r.GetStartTime().AsTime()))
			}
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintln(w)
			return printAgents(cmd.Context(), w, "table", m.GetAgents())
		},
	}
	addServerFlags(status, g)
	cmd.AddCommand(status)
	return cmd
}
