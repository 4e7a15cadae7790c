package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// offsetsDoc is Kafka Connect's offsets body: GET's answer, PATCH's request.
type offsetsDoc struct {
	Offsets []offsetEntry `json:"offsets"`
}

type offsetEntry struct {
	Partition json.RawMessage `json:"partition"`
	Offset    json.RawMessage `json:"offset"`
}

func newOffsetsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Inspect, alter and reset a connector's offsets (Kafka Connect's KIP-875)",
		Long: `Inspect, alter and reset the offsets a connector resumes from.

A source connector's offsets are what its tasks committed per source partition
(for file-source, partition {"filename":...} and offset {"position":...}),
kept by the control plane. A sink connector's offsets are its consumer group
connect-NAME's offsets in Kafka (partition {"kafka_topic":...,
"kafka_partition":N}, offset {"kafka_offset":N}); the control plane needs
--kafka for those.

Offsets can be read at any time, and changed only while the connector is
STOPPED (sluice connector stop NAME), as in Kafka Connect.`,
		Example: `  sluice offsets get copy-logs
  sluice connector stop copy-logs
  sluice offsets set copy-logs -f offsets.json
  sluice offsets reset copy-logs
  sluice connector resume copy-logs`,
	}

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a connector's committed offsets, in Kafka Connect's shape",
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.GetConnectorOffsets(cmd.Context(), connect.NewRequest(&sluicev1.GetConnectorOffsetsRequest{Name: args[0]}))
			if err != nil {
				return g.apiError(err)
			}
			doc := offsetsDoc{Offsets: []offsetEntry{}}
			for _, o := range res.Msg.GetOffsets() {
				doc.Offsets = append(doc.Offsets, offsetEntry{Partition: json.RawMessage(o.GetPartition()), Offset: json.RawMessage(o.GetOffset())})
			}
			if g.output == "table" {
				t := newTable(cmd.OutOrStdout(), "PARTITION", "OFFSET")
				for _, o := range doc.Offsets {
					t.row(string(o.Partition), string(o.Offset))
				}
				if len(doc.Offsets) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "connector %s has no committed offsets\n", args[0])
					return nil
				}
				return t.flush()
			}
			return printStructured(cmd.OutOrStdout(), g.output, doc)
		},
	}
	addServerFlags(get, g)

	var file string
	set := &cobra.Command{
		Use:   "set NAME -f FILE",
		Short: "Set or remove the offsets of some partitions of a STOPPED connector",
		Long: `Set or remove the offsets of some partitions of a STOPPED connector. The
file is the body of Kafka Connect's PATCH /connectors/{name}/offsets, in JSON
or YAML; an offset of null removes that partition's offset:

  {"offsets":[{"partition":{"filename":"/data/in.txt"},"offset":{"position":1024}}]}
  {"offsets":[{"partition":{"kafka_topic":"orders","kafka_partition":0},"offset":{"kafka_offset":5}}]}`,
		Example: `  sluice offsets set copy-logs -f offsets.json`,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return &exitError{2, "set needs -f FILE (or -f - for standard input)"}
			}
			doc, err := readOffsetsFile(file)
			if err != nil {
				return &exitError{2, err.Error()}
			}
			req := &sluicev1.AlterConnectorOffsetsRequest{Name: args[0]}
			for _, o := range doc.Offsets {
				req.Offsets = append(req.Offsets, &sluicev1.SourceOffset{Partition: string(o.Partition), Offset: string(o.Offset)})
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.AlterConnectorOffsets(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				return g.apiError(err)
			}
			return printMessage(cmd.OutOrStdout(), g.output, res.Msg.GetMessage())
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "the offsets, as Kafka Connect's PATCH body (- for standard input)")
	addServerFlags(set, g)

	reset := &cobra.Command{
		Use:   "reset NAME",
		Short: "Remove every offset of a STOPPED connector: resumed, it starts over",
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Connectors.ResetConnectorOffsets(cmd.Context(), connect.NewRequest(&sluicev1.ResetConnectorOffsetsRequest{Name: args[0]}))
			if err != nil {
				return g.apiError(err)
			}
			return printMessage(cmd.OutOrStdout(), g.output, res.Msg.GetMessage())
		},
	}
	addServerFlags(reset, g)
	cmd.AddCommand(get, set, reset)
	return cmd
}

func printMessage(w io.Writer, format, msg string) error {
	if format != "table" {
		return printStructured(w, format, map[string]string{"message": msg})
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

func readOffsetsFile(path string) (*offsetsDoc, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var doc offsetsDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("%s: want {\"offsets\":[{\"partition\":{...},\"offset\":{...}}]}: %w", path, err)
	}
	if len(doc.Offsets) == 0 {
		return nil, fmt.Errorf("%s: no offsets: want {\"offsets\":[{\"partition\":{...},\"offset\":{...}}]}", path)
	}
	for i, o := range doc.Offsets {
		if len(o.Partition) == 0 || string(o.Partition) == "null" {
			return nil, fmt.Errorf("%s: offsets[%d] has no partition", path, i)
		}
	}
	return &doc, nil
}
