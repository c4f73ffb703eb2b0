// Package declare is infrastructure as code for Keyplane: a YAML file that
// declares apps and their keysets (name, type, configuration), the plan that
// takes an account from what it holds to what the file declares, and
// applying that plan through the public Go client.
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
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a declaration: the apps an account should hold.
type File struct {
	Apps []App `yaml:"apps" json:"apps"`
}

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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: want a document with apps")
		}
		return nil, fmt.Errorf("not a declaration: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document: want one")
	}
	var problems []string
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
					problems = append(problems, fmt.Sprintf("%s.config: %v", kt, err))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	return &f, nil
}

// Problems are the mistakes in a declaration, or the reasons a plan cannot
// be made, each naming where it is.
type Problems struct {
	List []string
}

// Error renders the problems one a line.
func (p *Problems) Error() string {
	return strings.Join(p.List, "\n")
}
