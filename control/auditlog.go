package control

import (
	"context"
	"net/netip"

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

// AuditEvent returns one event of p's account by its id in the account,
// under the same Audit log row as the list. An id of no event of the
// account is not found.
func (s *Service) AuditEvent(ctx context.Context, p keyplane.Principal, id int64) (e keyplane.AuditEvent, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpListAuditEvents.Needs...); err != nil {
		return e, err
	}
	notFound := keyplane.Errorf(keyplane.CodeNotFound, "audit event %d not found", id)
	if id < 1 {
		return e, notFound
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		// The first event after id-1 is event id, if it exists.
		evs, err := tx.AuditEvents(keyplane.AuditQuery{AccountID: p.AccountID, After: id - 1, Limit: 1})
		if err != nil {
			return err
		}
		if len(evs) == 0 || evs[0].ID != id {
			return notFound
		}
		e = evs[0]
		return nil
	})
	return e, err
}

// AuditVerification is what walking the audit chains found: each
// account's chain is its own and verifies alone.
type AuditVerification struct {
	Events   int64                   // in every account
	Accounts []keyplane.AccountChain // by account id
	Break    *keyplane.ChainBreak    // the first broken link of the first account that has one
}

// VerifyAudit walks every account's audit chain on one snapshot and
// reports each: its events, its head, its first broken link.
func (s *Service) VerifyAudit(ctx context.Context) (v AuditVerification, err error) {
	var chains keyplane.AuditChains
	err = s.store.Read(ctx, func(tx Tx) error {
		return tx.EachAuditChain(func(e keyplane.AuditEvent, actorType string, actorID int64) error {
			chains.Add(e, actorType, actorID)
			return nil
		})
	})
	v.Accounts = chains.Accounts()
	for _, a := range v.Accounts {
		v.Events += a.Events
		if v.Break == nil {
			v.Break = a.Break
		}
	}
	return v, err
}

// ExportAudit calls fn for every audit event of one account in id order,
// or of all when accountID is 0 oldest first (accounts interleaved, each in
// its own id order), on one snapshot.
func (s *Service) ExportAudit(ctx context.Context, accountID int64, fn func(keyplane.AuditEvent) error) error {
	return s.store.Read(ctx, func(tx Tx) error {
		return tx.EachAuditEvent(accountID, func(e keyplane.AuditEvent, _ string, _ int64) error { return fn(e) })
	})
}

// requestOrigin is where a request came from, told as its client address
// (unparsable: unknown) and User-Agent: for the audit records of the flows
// that run before anyone is signed in.
func requestOrigin(ip, userAgent string) keyplane.Origin {
	addr, _ := netip.ParseAddr(ip)
	return keyplane.Origin{Addr: addr, UserAgent: userAgent}
}
