package keyplane

import (
	"slices"
	"strings"
)

// OpGetMe and OpCheckAuthz are about the calling key itself, so they need no
// row: any valid key may ask what it is and what it may do. Their Needs are
// empty, which Authorize grants to every key.
var (
	OpGetMe      = Operation{"getMe", "GET", "/v2/me", LevelAccount, nil, nil}
	OpCheckAuthz = Operation{"checkAuthz", "POST", "/v2/authz/check", LevelAccount, nil, nil}
)

// filteredLists are the list operations that answer a key with only
// narrower rows by filtering (Visible) rather than refusing.
var filteredLists = map[string]bool{OpListApps.ID: true, OpListKeysets.ID: true}

// IsFilteredList reports whether op lists what the key may see rather than
// needing its rows at account level.
func (o Operation) IsFilteredList() bool { return filteredLists[o.ID] }

// OperationByID finds an operation by its OpenAPI operationId.
func OperationByID(id string) (Operation, bool) {
	i := slices.IndexFunc(Operations, func(o Operation) bool { return o.ID == id })
	if i < 0 {
		return Operation{}, false
	}
	return Operations[i], true
}

// MatchOperation finds the operation serving method on a concrete path such
// as /v2/keysets/12/config, and the values of its path parameters. When the
// path is known but not the method, methods lists what the path offers.
func MatchOperation(method, path string) (op Operation, params map[string]string, methods []string, ok bool) {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, o := range Operations {
		tmpl := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
		if len(tmpl) != len(segs) {
			continue
		}
		vals := map[string]string{}
		match := true
		for i, s := range tmpl {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				if segs[i] == "" {
					match = false
					break
				}
				vals[s[1:len(s)-1]] = segs[i]
			} else if s != segs[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if o.Method == strings.ToUpper(method) {
			return o, vals, nil, true
		}
		methods = append(methods, o.Method)
	}
	return Operation{}, nil, methods, false
}

// RowCheck is the answer for one permission an operation needs: the row
// that grants it, or the narrowest row that is missing (the one a 403
// names).
type RowCheck struct {
	Need      Permission
	GrantedBy *Grant
	Missing   *Grant
}

// Explain decides every need on t as Authorize does (by Grant.Covers) and
// says why: the first covering row, or MissingRow. Authorize(grants, t,
// needs...) is nil exactly when no check has Missing set.
func Explain(grants []Grant, t Target, needs ...Permission) []RowCheck {
	out := make([]RowCheck, 0, len(needs))
	for _, p := range needs {
		c := RowCheck{Need: p}
		if i := slices.IndexFunc(grants, func(g Grant) bool { return g.Covers(p, t) }); i >= 0 {
			g := grants[i]
			c.GrantedBy = &g
		} else {
			m := MissingRow(p, t)
			c.Missing = &m
		}
		out = append(out, c)
	}
	return out
}

// ExplainList decides a filtered list as the list operations do (Visible):
// any row giving the access at any level lets the key list what it covers.
func ExplainList(grants []Grant, needs ...Permission) []RowCheck {
	out := make([]RowCheck, 0, len(needs))
	for _, p := range needs {
		c := RowCheck{Need: p}
		if i := slices.IndexFunc(grants, func(g Grant) bool { return g.Resource == p.Resource && g.Access.allows(p.Access) }); i >= 0 {
			g := grants[i]
			c.GrantedBy = &g
		} else {
			m := MissingRow(p, Target{})
			c.Missing = &m
		}
		out = append(out, c)
	}
	return out
}

// AccessOn is the widest access grants give on resource r at t: read-write,
// read, or "" for none.
func AccessOn(grants []Grant, r Resource, t Target) Access {
	switch {
	case slices.ContainsFunc(grants, func(g Grant) bool { return g.Covers(Permission{r, AccessWrite}, t) }):
		return AccessReadWrite
	case slices.ContainsFunc(grants, func(g Grant) bool { return g.Covers(Permission{r, AccessRead}, t) }):
		return AccessRead
	}
	return ""
}

// Resources lists the resources a key may read, in the order of PubNub's
// page (then Keyplane's own): what /v2/me reports access to.
var Resources = func() []Resource {
	var out []Resource
	for _, d := range resourceTable {
		if d.forIntegrations && slices.ContainsFunc(allAccesses(d), func(a Access) bool { return a.allows(AccessRead) }) {
			out = append(out, d.resource)
		}
	}
	return out
}()

// OfferedAt reports whether some row of resource r exists at level l.
func OfferedAt(l Level, r Resource) bool {
	_, ok := offered[l][r]
	return ok
}
