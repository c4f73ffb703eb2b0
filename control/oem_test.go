package control_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func oemPrincipal(t *testing.T, svc *control.Service, p keyplane.Principal) keyplane.Principal {
	t.Helper()
	if _, err := svc.SetPartner(context.Background(), keyplane.Operator(p.AccountID), p.AccountID, true); err != nil {
		t.Fatal(err)
	}
	g, _ := keyplane.ParseGrant("account:oem-customer:rw")
	p.Grants = append(p.Grants, g)
	return p
}

// Racing assignments of one keyset to different customers: exactly one
// wins, the others are a Conflict, and the keyset ends in one customer.
func TestConcurrentAssignmentsGiveAKeysetOneCustomer(t *testing.T) {
	svc, p, _ := setup(t)
	p = oemPrincipal(t, svc, p)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	const n = 6
	var ids []int64
	for i := range n {
		c, err := svc.CreateCustomer(ctx, p, control.NewCustomer{ExternalID: fmt.Sprintf("c%d", i), Name: "c"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.AssignCustomerKeysets(ctx, p, id, []int64{k.ID})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case keyplane.ErrorCode(err) != keyplane.CodeConflict:
			t.Fatalf("assignment %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d assignments succeeded, want exactly 1: %v", won, errs)
	}
	holders := 0
	for _, id := range ids {
		c, err := svc.GetCustomer(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		holders += len(c.Keysets)
	}
	if holders != 1 {
		t.Errorf("the keyset is held %d times", holders)
	}
}

// Racing creations with one externalId: one customer, the rest Conflict.
func TestConcurrentCreationsKeepExternalIDUnique(t *testing.T) {
	svc, p, _ := setup(t)
	p = oemPrincipal(t, svc, p)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.CreateCustomer(ctx, p, control.NewCustomer{ExternalID: "acme", Name: "Acme"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if keyplane.ErrorCode(err) != keyplane.CodeConflict {
			t.Fatalf("creation: %v", err)
		}
	}
	cs, err := svc.ListCustomers(ctx, p, 0)
	if err != nil || ok != 1 || len(cs) != 1 {
		t.Errorf("%d creations succeeded, %d customers (%v); want 1 and 1", ok, len(cs), err)
	}
}

// A creation refused for one of its keysets leaves no customer and no
// audit event behind: one transaction.
func TestRefusedCreationLeavesNothing(t *testing.T) {
	svc, p, _ := setup(t)
	p = oemPrincipal(t, svc, p)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	before, err := svc.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateCustomer(ctx, p, control.NewCustomer{ExternalID: "acme", Name: "Acme", KeysetIDs: []int64{k.ID, k.ID + 100}})
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Fatalf("creation with an unknown keyset: %v, want BadRequest", err)
	}
	after, err := svc.VerifyAudit(ctx)
	if err != nil || after.Events != before.Events || after.Break != nil {
		t.Errorf("audit went from %d to %d events (%v)", before.Events, after.Events, err)
	}
	if cs, err := svc.ListCustomers(ctx, p, 0); err != nil || len(cs) != 0 {
		t.Errorf("customers %v (%v), want none", cs, err)
	}
	// The same externalId is free.
	if _, err := svc.CreateCustomer(ctx, p, control.NewCustomer{ExternalID: "acme", Name: "Acme", KeysetIDs: []int64{k.ID}}); err != nil {
		t.Errorf("creation after the refusal: %v", err)
	}
}

// CheckAuthz resolves a keyset to its app as the operation does, and
// decides nothing about keysets of other accounts beyond their id.
func TestCheckAuthzResolvesKeysets(t *testing.T) {
	svc, p, _ := setup(t)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	g, _ := keyplane.ParseGrant(fmt.Sprintf("app/%d:keyset:read", k.AppID))
	app := keyplane.Principal{AccountID: 1, Grants: []keyplane.Grant{g}}
	a, err := svc.CheckAuthz(ctx, app, control.AuthzQuestion{Method: "GET", Path: fmt.Sprintf("/v2/keysets/%d", k.ID)})
	if err != nil || !a.Allowed || a.Target != k.Target() {
		t.Errorf("app row on its keyset: %+v %v", a, err)
	}
	// A keyset id of no keyset: decided on the bare id, so denied.
	a, err = svc.CheckAuthz(ctx, app, control.AuthzQuestion{Action: "getKeyset", Target: keyplane.Target{AppID: k.AppID, KeysetID: k.ID + 100}})
	if err != nil || a.Allowed || a.Target.AppID != 0 || a.Checks[0].Missing.String() != fmt.Sprintf("keyset/%d:keyset:read", k.ID+100) {
		t.Errorf("app row on a keyset that does not exist: %+v %v", a, err)
	}
}
