package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// The output formats of the API commands.
const (
	outputTable = "table" // for people: aligned columns
	outputJSON  = "json"  // for scripts: the objects as the API answers them
	outputYAML  = "yaml"  // the same objects as YAML
)

var outputFormats = []string{outputTable, outputJSON, outputYAML}

// render writes v in format on w; table draws it for people instead.
func render(w io.Writer, format string, v any, table func(*tabwriter.Writer)) error {
	switch format {
	case outputJSON:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case outputYAML:
		b, err := jsonToYAML(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
}

// jsonToYAML renders v as YAML through its JSON, so that both formats hold
// the same fields in the same order, with the same names and values: a
// string that looks like a number (an id) stays a quoted string.
func jsonToYAML(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// blockStyle drops the flow style JSON parses into, so the YAML reads as
// YAML; the encoder quotes the scalars that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle // [] and {} rather than nothing
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}
