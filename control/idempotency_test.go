package control_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// A crash between the operation's commit and storing its answer leaves the
// key recorded without an answer: a retry is refused (in progress, then
// "answer not kept"), never run a second time.
func TestIdempotencyRecordedWithOperation(t *testing.T) {
	svc, p, clk := setup(t)
	ctx := context.Background()
	fp := []byte("fingerprint-1")
	claim, stored, err := svc.BeginIdempotent(ctx, p, "key-1", fp)
	if err != nil || stored != nil || claim == nil {
		t.Fatalf("BeginIdempotent = %v, %v, %v; want a claim", claim, stored, err)
	}
	// A refused operation does not use the key.
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, claim), p, ""); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Fatalf("CreateApp(\"\") = %v, want invalid", err)
	}
	if c, _, err := svc.BeginIdempotent(ctx, p, "key-1", fp); err != nil || c == nil {
		t.Fatalf("after a refusal: BeginIdempotent = %v, %v; want the key still free", c, err)
	}
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, claim), p, "once"); err != nil {
		t.Fatal(err)
	}
	// The server "crashes" here: FinishIdempotent never runs.
	_, _, err = svc.BeginIdempotent(ctx, p, "key-1", fp)
	if keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "in progress") {
		t.Errorf("retry at once: %v, want 409 in progress", err)
	}
	clk.Advance(2 * time.Minute)
	_, _, err = svc.BeginIdempotent(ctx, p, "key-1", fp)
	if keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "answer was not kept") {
		t.Errorf("retry later: %v, want 409 answer not kept", err)
	}
	if _, _, err := svc.BeginIdempotent(ctx, p, "key-1", []byte("other")); keyplane.ErrorCode(err) != keyplane.CodeUnprocessable {
		t.Errorf("another request with the key: %v, want 422", err)
	}
	// Later writes of the request that recorded the key pass (an
	// operation may write more than once); a twin request that raced past
	// BeginIdempotent is stopped by its operation's transaction.
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, claim), p, "again"); err != nil {
		t.Errorf("a second write of the same request (claim already recorded) failed: %v", err)
	}
	twin, _, _ := svc.BeginIdempotent(ctx, p, "key-2", fp)
	twin2, _, _ := svc.BeginIdempotent(ctx, p, "key-2", fp)
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, twin), p, "twin"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, twin2), p, "twin"); keyplane.ErrorCode(err) != keyplane.CodeConflict {
		t.Errorf("the racing twin: %v, want 409", err)
	}
	apps, total, err := svc.ListApps(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || total != 3 {
		t.Errorf("apps %v (%d), %v; want once, again, twin", apps, total, err)
	}
	// The answer stored after the operation is replayed.
	if err := svc.FinishIdempotent(ctx, twin, control.StoredResponse{Status: 201, Body: []byte(`{"id":"3"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, stored, err := svc.BeginIdempotent(ctx, p, "key-2", fp); err != nil || stored == nil || string(stored.Body) != `{"id":"3"}` {
		t.Errorf("replay = %v, %v", stored, err)
	}
}

// A body taken from a stored answer is handed out once; the rest of the
// answer stays for replays.
func TestTakeIdempotentBodyOnce(t *testing.T) {
	svc, p, _ := setup(t)
	ctx := context.Background()
	if _, err := svc.TakeIdempotentBody(ctx, p, "form-1"); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Fatalf("no such key: %v, want 404", err)
	}
	claim, _, err := svc.BeginIdempotent(ctx, p, "form-1", []byte("fp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateApp(control.WithIdempotency(ctx, claim), p, "once"); err != nil {
		t.Fatal(err)
	}
	want := control.StoredResponse{Status: 303, Header: map[string]string{"Location": "/apps/1"}, Body: []byte("secret")}
	if err := svc.FinishIdempotent(ctx, claim, want); err != nil {
		t.Fatal(err)
	}
	got, err := svc.TakeIdempotentBody(ctx, p, "form-1")
	if err != nil || string(got.Body) != "secret" || got.Header["Location"] != "/apps/1" {
		t.Fatalf("first take: %+v, %v", got, err)
	}
	got, err = svc.TakeIdempotentBody(ctx, p, "form-1")
	if err != nil || len(got.Body) != 0 || got.Header["Location"] != "/apps/1" {
		t.Fatalf("second take: %+v, %v; want the answer without its body", got, err)
	}
	_, stored, err := svc.BeginIdempotent(ctx, p, "form-1", []byte("fp"))
	if err != nil || stored == nil || stored.Status != 303 || len(stored.Body) != 0 {
		t.Fatalf("replay after the take: %+v, %v", stored, err)
	}
}
