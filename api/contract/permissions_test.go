package contract_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/api/contract"
)

// TestSpecPermissionsMatchTheCode: the permissions the contract documents
// are the ones the code enforces, route by route, because both come from
// keyplane.Operations and this test holds them together.
func TestSpecPermissionsMatchTheCode(t *testing.T) {
	v, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]contract.Operation{}
	for _, op := range v.Operations() {
		spec[op.Method+" "+op.Path] = op
	}
	if len(spec) != len(keyplane.Operations) {
		t.Errorf("the spec has %d /v2 operations, the code %d", len(spec), len(keyplane.Operations))
	}
	for _, op := range keyplane.Operations {
		s, ok := spec[op.Method+" "+op.Path]
		if !ok {
			t.Errorf("%s: not in the spec", op)
			continue
		}
		if s.OperationID != op.ID {
			t.Errorf("%s: operationId %q in the spec, %q in the code", op, s.OperationID, op.ID)
		}
		var want, got []string
		for _, p := range op.Needs {
			row := keyplane.MissingRow(p, keyplane.Target{})
			want = append(want, fmt.Sprintf("%s:%s:%s", op.On, row.Resource, row.Access))
		}
		for _, p := range s.Permissions {
			got = append(got, fmt.Sprintf("%s:%s:%s", p.Level, p.Resource, p.Access))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the spec requires %v, the code %v", op, got, want)
		}
	}
}

// TestSpecQueryMatchesTheCode: every query parameter the contract documents
// is one the server reads, and the server refuses exactly the others,
// because both come from keyplane.Operation.Query.
func TestSpecQueryMatchesTheCode(t *testing.T) {
	v, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string][]string{}
	for _, op := range v.Operations() {
		spec[op.Method+" "+op.Path] = op.Query
	}
	for _, op := range keyplane.Operations {
		got, want := slices.Sorted(slices.Values(spec[op.String()])), slices.Sorted(slices.Values(op.Query))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the spec declares the query parameters %v, the code reads %v", op, got, want)
		}
	}
}
