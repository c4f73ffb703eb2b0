// Package declare is infrastructure as code for Keyplane: a YAML file that
// declares apps and their keysets (name, type, configuration) and OEM customers,
// the plan that takes an account from what it holds to what the file declares,
// and applying that plan through the public Go client.
//
// Apps are matched by name in the account, keysets by name within their
// app. Names must therefore be unique where they are matched: a file that
// repeats one, or an account in which a declared name is held by two apps
// (or two keysets of one app), is refused before anything changes, since no
// one can tell which of the two the file means.
//
// A plan only adds and changes unless pruning is asked for; then it also
// deletes the apps and keysets the file does not declare. Applying is
// idempotent: applying a file again once it has been applied changes
// nothing, and a plan of it is empty.
package declare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a declaration: the apps an account should hold, and, in an OEM
// partner account, its customers.
type File struct {
	Apps      []App      `yaml:"apps" json:"apps"`
	Customers []Customer `yaml:"customers" json:"customers"`
}

// Customer is a declared OEM customer, matched by ExternalID (the
// partner's own id, which never changes). Keysets are keysets it should
// hold, each named by its app and its own name; they may be declared in the
// file or already in the account. Keysets it holds that the file leaves out
// stay assigned: the API cannot take a keyset back from a customer.
type Customer struct {
	ExternalID string      `yaml:"externalId" json:"externalId"`
	Name       string      `yaml:"name" json:"name"`
	Keysets    []KeysetRef `yaml:"keysets" json:"keysets"`
}

// KeysetRef names a keyset by its app's name and its own.
type KeysetRef struct {
	App    string `yaml:"app" json:"app"`
	Keyset string `yaml:"keyset" json:"keyset"`
}

// String renders the reference as "app/keyset".
func (r KeysetRef) String() string { return r.App + "/" + r.Keyset }

// App is a declared app, named, with the keysets it should hold.
type App struct {
	Name    string   `yaml:"name" json:"name"`
	Keysets []Keyset `yaml:"keysets" json:"keysets"`
}

// Keyset is a declared keyset. Type is "testing" or "production"; left
// out, a new keyset is a testing one and an existing one keeps its type.
// Config is any part of a keyset configuration, in the API's shape
// (messagePersistence, presence, …): the settings it names are managed,
// those it leaves out keep whatever value they have. What the file does not
// say, apply does not change: a short file never downgrades a production
// keyset.
type Keyset struct {
	Name   string         `yaml:"name" json:"name"`
	Type   string         `yaml:"type" json:"type"`
	Config map[string]any `yaml:"config" json:"config"`
	Push   *Push          `yaml:"push" json:"push,omitempty"`
}

// MaxFileBytes bounds a declaration file.
const MaxFileBytes = 4 << 20

// Parse reads and checks a declaration. Unknown fields, empty or repeated
// names and unknown keyset types are refused, every problem named.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("the file is over %d bytes", MaxFileBytes)
	}
	var f File
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: want a document with apps")
		}
		// A syntax error: yaml says where and what, in YAML's terms.
		return nil, fmt.Errorf("not YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document: want one")
	}
	// The shape first, so that every mistake is named by line and by its
	// place in the file (apps[0].keysets), never by a Go type.
	var problems []string
	checkShape(&doc, fileShape, "", &problems)
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	if err := doc.Decode(&f); err != nil {
		// The shape check lets through only what decodes (a config may
		// still repeat a key); whatever yaml finds, say it without Go's
		// type names.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("not a declaration: %s", goTypes.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "here"))
		}
		for _, m := range te.Errors {
			problems = append(problems, goTypes.ReplaceAllString(m, "here"))
		}
		return nil, &Problems{List: problems}
	}
	apps := map[string]bool{}
	for i := range f.Apps {
		a := &f.Apps[i]
		at := fmt.Sprintf("apps[%d]", i)
		switch {
		case strings.TrimSpace(a.Name) == "":
			problems = append(problems, at+".name: required")
		case apps[a.Name]:
			problems = append(problems, fmt.Sprintf("%s.name: app %q is declared twice; apps are matched by name, so names must be unique", at, a.Name))
		}
		apps[a.Name] = true
		keysets := map[string]bool{}
		for j := range a.Keysets {
			k := &a.Keysets[j]
			kt := fmt.Sprintf("%s.keysets[%d]", at, j)
			switch {
			case strings.TrimSpace(k.Name) == "":
				problems = append(problems, kt+".name: required")
			case keysets[k.Name]:
				problems = append(problems, fmt.Sprintf("%s.name: keyset %q is declared twice in app %q; keysets are matched by name, so names must be unique in an app", kt, k.Name, a.Name))
			}
			keysets[k.Name] = true
			switch k.Type {
			case "", "testing", "production":
			default:
				problems = append(problems, fmt.Sprintf("%s.type: %q: want testing or production", kt, k.Type))
			}
			// Through JSON, so numbers compare as the API's do.
			if k.Config != nil {
				b, err := json.Marshal(k.Config)
				if err == nil {
					k.Config = nil
					err = json.Unmarshal(b, &k.Config)
				}
				if err != nil {
					// A value JSON cannot hold (.nan, .inf); json's words name Go types.
					problems = append(problems, kt+".config: holds a value JSON cannot carry (such as .nan or .inf); the API takes JSON")
				}
			}
		}
	}
	customers := map[string]bool{}
	for i, c := range f.Customers {
		at := fmt.Sprintf("customers[%d]", i)
		switch {
		case strings.TrimSpace(c.ExternalID) == "":
			problems = append(problems, at+".externalId: required")
		case customers[c.ExternalID]:
			problems = append(problems, fmt.Sprintf("%s.externalId: customer %q is declared twice", at, c.ExternalID))
		}
		customers[c.ExternalID] = true
		if strings.TrimSpace(c.Name) == "" {
			problems = append(problems, at+".name: required")
		}
		refs := map[KeysetRef]bool{}
		for j, r := range c.Keysets {
			if r.App == "" || r.Keyset == "" {
				problems = append(problems, fmt.Sprintf("%s.keysets[%d]: want {app, keyset}, both names", at, j))
			} else if refs[r] {
				problems = append(problems, fmt.Sprintf("%s.keysets[%d]: keyset %s is named twice", at, j, r))
			}
			refs[r] = true
		}
	}
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	return &f, nil
}

// goTypes matches the Go types yaml's messages name ("into declare.App").
var goTypes = regexp.MustCompile(`into \S+`)

// Problems are the mistakes in a declaration, or the reasons a plan cannot
// be made, each naming where it is.
type Problems struct {
	List []string
}

// Error renders the problems one a line.
func (p *Problems) Error() string {
	return strings.Join(p.List, "\n")
}
