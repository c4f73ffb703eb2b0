package portal

import (
	"net/http"
	"strings"

	"github.com/keyplane/keyplane"
)

// auditPage is the Audit log page: a page of events, the filters that
// chose them, and the link to the next page.
type auditPage struct {
	Events       []keyplane.AuditEvent
	Type, Actor  string
	Types        []string // the event types to pick from
	Next         string   // the cursor of the next page, or ""
	Errors       []string // why the filters were refused
	FilterActive bool
}

// auditEventTypes are the event types the type filter offers: every one
// the API's filter accepts.
var auditEventTypes = keyplane.EventTypes

// auditLog lists the account's audit events, newest last as the API lists
// them, filtered by type and actor, through the same operation (and the
// same Audit log row) as GET /v2/audit-events.
func (p *Portal) auditLog(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	page := auditPage{Type: q.Get("type"), Actor: strings.TrimSpace(q.Get("actor")), Types: auditEventTypes}
	page.FilterActive = page.Type != "" || page.Actor != ""
	aq := keyplane.AuditQuery{Limit: 50}
	var msgs []string
	if page.Type != "" {
		aq.Types = []string{page.Type}
	}
	if page.Actor != "" {
		typ, id, err := keyplane.ParseAuditRef("actor", page.Actor)
		if err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
		aq.ActorType, aq.ActorID = typ, id
	}
	status := http.StatusOK
	if msgs == nil {
		res, err := p.svc.ListAuditEvents(r.Context(), s.P, aq, q.Get("cursor"))
		switch {
		case keyplane.ErrorCode(err) == keyplane.CodeInvalid:
			msgs = keyplane.ErrorMessages(err)
		case err != nil:
			return err
		default:
			page.Events, page.Next = res.Events, res.Next
		}
	}
	if msgs != nil {
		page.Errors, status = msgs, http.StatusBadRequest
	}
	p.render(w, r, status, "audit", s, "Audit log", page)
	return nil
}
