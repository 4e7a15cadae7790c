package main

import (
	"fmt"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

func newTopicsCmd(g *globalFlags) *cobra.Command {
	var reset bool
	cmd := &cobra.Command{
		Use:   "topics NAME",
		Short: "List the topics a connector has used (Kafka Connect's active topics), or reset the list",
		Long: `List the topics a connector's tasks have used since it was created or since
its list was last reset: the topics a source produced to, the topics a sink
consumed from (Kafka Connect's GET /connectors/{name}/topics, KIP-558).

--reset empties the list (PUT /connectors/{name}/topics/reset); running tasks
record the topics they use from then on, without restarting.`,
		Example: `  sluice connector topics copy-logs
  sluice connector topics copy-logs -o json
  sluice connector topics copy-logs --reset`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			name := args[0]
			if reset {
				if _, err := c.Connectors.ResetConnectorTopics(cmd.Context(), connect.NewRequest(&sluicev1.ResetConnectorTopicsRequest{Name: name})); err != nil {
					return g.apiError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: active topics reset\n", name)
				return nil
			}
			res, err := c.Connectors.GetConnectorTopics(cmd.Context(), connect.NewRequest(&sluicev1.GetConnectorTopicsRequest{Name: name}))
			if err != nil {
				return g.apiError(err)
			}
			topics := res.Msg.GetTopics()
			if g.output != "table" {
				// Kafka Connect's shape.
				return printStructured(cmd.OutOrStdout(), g.output, map[string]any{name: map[string]any{"topics": topics}})
			}
			t := newTable(cmd.OutOrStdout(), "TOPIC")
			for _, topic := range topics {
				t.row(topic)
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "empty the connector's list of active topics")
	addServerFlags(cmd, g)
	return cmd
}
