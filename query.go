package keyplane

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// CheckQuery refuses every query parameter o does not read (o.Query), one
// message each, naming the ones it does. A parameter that is ignored would
// answer another question than the one asked (a misspelt page=2 answers
// page 1; an unknown filter answers everything), so it is an error, as an
// unknown field of a JSON body is.
func (o Operation) CheckQuery(q map[string][]string) error {
	var unknown []string
	for name := range q {
		if !slices.Contains(o.Query, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown) // one answer for one request, whatever the map's order
	takes := "takes no query parameters"
	if len(o.Query) > 0 {
		takes = "takes only " + strings.Join(o.Query, ", ")
	}
	msgs := make([]string, len(unknown))
	for i, name := range unknown {
		msgs[i] = queryName(name) + ": unknown query parameter; " + o.String() + " " + takes
	}
	return Invalid(msgs...)
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9_.\[\]-]{1,40}$`)

// queryName renders a parameter name for a message: as it is when it is
// plain, quoted and cut short otherwise, and never whole when it looks like
// a secret key or an API key sent in the wrong place.
func queryName(name string) string {
	switch {
	case strings.Contains(name, "sec-c-") || strings.HasPrefix(name, APIKeyPrefix) || strings.HasPrefix(name, OperatorKeyPrefix):
		return "a parameter that looks like a key"
	case plainName.MatchString(name):
		return name
	}
	return strconv.Quote(clip(name))
}
