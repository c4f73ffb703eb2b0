package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

// listAuditEvents answers GET /v2/audit-events: the filters come from the
// query, the cursor continues a previous answer with the same filters.
func (a *API) listAuditEvents(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	v := r.URL.Query()
	var q keyplane.AuditQuery
	var msgs []string
	for _, name := range []string{"from", "to"} {
		if !v.Has(name) {
			continue
		}
		t, err := keyplane.ParseTime(name, v.Get(name))
		if err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
			continue
		}
		if name == "from" {
			q.From = t
		} else {
			q.To = t
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		msgs = append(msgs, "to: must be after from")
	}
	for _, s := range v["type"] {
		for _, typ := range strings.Split(s, ",") {
			q.Types = append(q.Types, strings.TrimSpace(typ))
		}
	}
	msgs = append(msgs, keyplane.ValidateEventTypes(q.Types))
	if v.Has("actor") {
		var err error
		if q.ActorType, q.ActorID, err = keyplane.ParseAuditRef("actor", v.Get("actor")); err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
	}
	if v.Has("target") {
		var err error
		if q.TargetType, q.TargetID, err = keyplane.ParseAuditRef("target", v.Get("target")); err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
	}
	q.Limit = keyplane.DefaultAuditLimit
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > keyplane.MaxAuditLimit {
			msgs = append(msgs, "limit: must be a whole number from 1 to "+strconv.Itoa(keyplane.MaxAuditLimit))
		}
		q.Limit = n
	}
	if v.Has("cursor") && v.Get("cursor") == "" {
		msgs = append(msgs, "cursor: empty; leave it out for the first page")
	}
	if err := keyplane.Invalid(nonEmpty(msgs)...); err != nil {
		return err
	}
	page, err := a.svc.ListAuditEvents(r.Context(), p, q, v.Get("cursor"))
	if err != nil {
		return err
	}
	events := make([]keyplane.AuditEventJSON, len(page.Events))
	for i, e := range page.Events {
		events[i] = e.JSON()
	}
	var next *string
	if page.Next != "" {
		next = &page.Next
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "nextCursor": next})
	return nil
}
