package control_test

import (
	"context"
	"testing"

	"github.com/keyplane/keyplane"
)

// The audit log lists newest first on request, page after page without a
// gap or a repeat, and one event is read by its id; another account's id,
// or none, is not found, and the Audit log row is needed for both.
func TestAuditNewestFirstAndOneEvent(t *testing.T) {
	svc, p, _ := setup(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if _, err := svc.CreateApp(ctx, p, n); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := keyplane.ParseGrant("account:audit-log:read")
	p.Grants = append(p.Grants, g)
	var ids []int64
	q := keyplane.AuditQuery{Limit: 2, NewestFirst: true}
	cursor := ""
	for {
		page, err := svc.ListAuditEvents(ctx, p, q, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(ids) != 5 || ids[0] != 5 || ids[4] != 1 {
		t.Fatalf("newest first: %v", ids)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]-1 {
			t.Fatalf("newest first: %v", ids)
		}
	}
	// A cursor of one order is not one of the other.
	page, _ := svc.ListAuditEvents(ctx, p, q, "")
	if _, err := svc.ListAuditEvents(ctx, p, keyplane.AuditQuery{Limit: 2}, page.Next); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("a newest-first cursor read oldest first: %v", err)
	}

	e, err := svc.AuditEvent(ctx, p, 3)
	if err != nil || e.ID != 3 || e.Type != keyplane.EventAppCreated {
		t.Fatalf("event 3: %+v %v", e, err)
	}
	for _, id := range []int64{0, 6, -1} {
		if _, err := svc.AuditEvent(ctx, p, id); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			t.Errorf("event %d: %v", id, err)
		}
	}
	other := p
	other.AccountID = 2
	if _, err := svc.AuditEvent(ctx, other, 3); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("another account's event 3: %v", err)
	}
	p.Grants = p.Grants[:len(p.Grants)-1]
	if _, err := svc.AuditEvent(ctx, p, 3); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("without the Audit log row: %v", err)
	}
}
