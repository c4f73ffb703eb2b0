package declare

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shape is what a YAML node of a declaration must be: a mapping with
// fields, a list of one shape, a scalar (a name or a type), or any mapping
// (a keyset's config, which the server checks).
type shape struct {
	what   string            // for messages: "an app", "a keyset"
	fields map[string]*shape // a mapping with these fields
	order  []string          // the fields in the order messages list them
	elem   *shape            // a list of these
	scalar bool              // a name, a type: text
	anyMap bool              // any mapping
}

func mapping(what string, fields ...any) *shape {
	s := &shape{what: what, fields: map[string]*shape{}}
	for i := 0; i < len(fields); i += 2 {
		name := fields[i].(string)
		s.fields[name] = fields[i+1].(*shape)
		s.order = append(s.order, name)
	}
	return s
}

func listOf(what string, elem *shape) *shape { return &shape{what: what, elem: elem} }

func text(what string) *shape { return &shape{what: what, scalar: true} }

// fileShape is the declaration file, as File and its parts decode it.
var fileShape = mapping("a declaration (a mapping with apps, and customers in a partner account)",
	"apps", listOf("a list of apps", mapping("an app (a mapping with name and keysets, e.g. - name: Telemedicine)",
		"name", text("an app name"),
		"keysets", listOf("a list of keysets", mapping("a keyset (a mapping with name, type and config, e.g. - name: prod)",
			"name", text("a keyset name"),
			"type", text("testing or production"),
			"config", &shape{what: "a keyset configuration (a mapping such as presence: {announceMax: 50})", anyMap: true},
			"push", mapping("push credentials (a mapping with apns and fcm)",
				"apns", mapping("APNs credentials (a mapping with teamId, authKeyId and file)",
					"teamId", text("an Apple team id"),
					"authKeyId", text("an Apple key id"),
					"file", text("the path of the .p8 file"),
				),
				"fcm", mapping("FCM credentials (a mapping with file)",
					"file", text("the path of the service-account JSON file"),
				),
			),
		)),
	)),
	"customers", listOf("a list of customers", mapping("a customer (a mapping with externalId, name and keysets)",
		"externalId", text("the customer's external id"),
		"name", text("a customer name"),
		"keysets", listOf("a list of keysets, each {app: NAME, keyset: NAME}", mapping("a keyset reference ({app: NAME, keyset: NAME})",
			"app", text("an app name"),
			"keyset", text("a keyset name"),
		)),
	)),
)

// checkShape walks n against s and reports every place it does not fit, by
// line and by path in the file's own terms (apps[0].keysets), never by the
// Go types it decodes into: the messages of yaml's decoder name those
// (cannot unmarshal !!str into declare.App), which tell a person nothing.
func checkShape(n *yaml.Node, s *shape, path string, problems *[]string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 1 {
			checkShape(n.Content[0], s, path, problems)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // left out: the zero value
	}
	where := path
	if where == "" {
		where = "the file"
	}
	wrong := func() {
		*problems = append(*problems, fmt.Sprintf("line %d: %s: want %s, not %s", n.Line, where, s.what, describe(n)))
	}
	switch {
	case s.scalar:
		if n.Kind != yaml.ScalarNode {
			wrong()
		}
	case s.anyMap:
		if n.Kind != yaml.MappingNode {
			wrong()
		}
	case s.elem != nil:
		if n.Kind != yaml.SequenceNode {
			wrong()
			return
		}
		for i, c := range n.Content {
			checkShape(c, s.elem, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	default:
		if n.Kind != yaml.MappingNode {
			wrong()
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			at := k.Value
			if path != "" {
				at = path + "." + k.Value
			}
			if first, dup := seen[k.Value]; dup {
				*problems = append(*problems, fmt.Sprintf("line %d: %s: given twice (first at line %d)", k.Line, at, first))
				continue
			}
			seen[k.Value] = k.Line
			f, ok := s.fields[k.Value]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("line %d: %s: unknown field; %s has %s", k.Line, at, article(s.what), joinAnd(s.order)))
				continue
			}
			checkShape(v, f, at, problems)
		}
	}
}

// article shortens a shape's description to its noun ("an app").
func article(what string) string {
	if i := strings.Index(what, " ("); i > 0 {
		return what[:i]
	}
	return what
}

// joinAnd lists names as a sentence does: "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// describe names what a node holds, as a person reads the file.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 30 {
			v = v[:30] + "…"
		}
		switch n.Tag {
		case "!!int", "!!float":
			return "the number " + v
		case "!!bool":
			return v
		}
		return fmt.Sprintf("the text %q", v)
	}
	return "something else"
}
