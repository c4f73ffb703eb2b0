package control

import (
	"context"

	"github.com/keyplane/keyplane"
)

// AuditPage is one page of audit events; Next continues after it, empty
// when the page is the last one for now.
type AuditPage struct {
	Events []keyplane.AuditEvent
	Next   string
}

// ListAuditEvents answers one page of p's account's audit trail, oldest
// first, after the cursor (if any). It needs the Account-level Audit log
// row; q.AccountID is always p's account.
func (s *Service) ListAuditEvents(ctx context.Context, p keyplane.Principal, q keyplane.AuditQuery, cursor string) (page AuditPage, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpListAuditEvents.Needs...); err != nil {
		return page, err
	}
	q.AccountID = p.AccountID
	if cursor != "" {
		if err := q.ReadAuditCursor(cursor); err != nil {
			return page, err
		}
	}
	if q.Limit < 1 || q.Limit > keyplane.MaxAuditLimit {
		q.Limit = keyplane.DefaultAuditLimit
	}
	want := q.Limit
	q.Limit++ // one more tells whether another page follows
	err = s.store.Read(ctx, func(tx Tx) error {
		page.Events, err = tx.AuditEvents(q)
		return err
	})
	if err != nil {
		return page, err
	}
	if len(page.Events) > want {
		page.Events = page.Events[:want]
		page.Next = q.AuditCursor(page.Events[want-1].ID)
	}
	return page, nil
}

// AuditVerification is what walking the audit chain found.
type AuditVerification struct {
	Events int64
	Head   []byte // hash of the last event; nil when there are none
	Break  *keyplane.ChainBreak
}

// VerifyAudit walks the whole audit chain (every account: the chain is
// global) on one snapshot and reports the first broken link.
func (s *Service) VerifyAudit(ctx context.Context) (v AuditVerification, err error) {
	var cv keyplane.ChainVerifier
	err = s.store.Read(ctx, func(tx Tx) error {
		return tx.EachAuditEvent(0, func(e keyplane.AuditEvent, actorType string, actorID int64) error {
			cv.Add(e, actorType, actorID)
			return nil
		})
	})
	return AuditVerification{Events: cv.Count(), Head: cv.Head(), Break: cv.Break}, err
}

// ExportAudit calls fn for every audit event in id order, of one account or
// of all when accountID is 0, on one snapshot.
func (s *Service) ExportAudit(ctx context.Context, accountID int64, fn func(keyplane.AuditEvent) error) error {
	return s.store.Read(ctx, func(tx Tx) error {
		return tx.EachAuditEvent(accountID, func(e keyplane.AuditEvent, _ string, _ int64) error { return fn(e) })
	})
}
