package portal

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// auditPage is the Audit log page: a page of events, newest first, the
// filters that chose them, and the link to the next (older) page.
type auditPage struct {
	Events                []auditRow
	Type, Actor, From, To string
	Types                 []string // the event types to pick from
	Next                  string   // the cursor of the next page, or ""
	Errors                []string // why the filters were refused
	FilterActive          bool
	// Older, CSV and NDJSON are the addresses of the next page and of the
	// exports, carrying the filters.
	Older, CSV, NDJSON string
	// Invalid names the filters at fault ("actor", "from", "to").
	Invalid map[string]bool
}

// auditRow is one event of the list, with the page of its target.
type auditRow struct {
	keyplane.AuditEvent
	TargetURL string
}

// auditEventTypes are the event types the type filter offers: every one
// the API's filter accepts.
var auditEventTypes = keyplane.EventTypes

// auditExportLimit bounds one export, so that a request cannot read an
// unbounded history into one answer; the filters narrow a larger one.
const auditExportLimit = 100_000

// auditFilters reads the list's filters from the address: an event type,
// an actor (TYPE or TYPE/ID) and a range of days, both included. It
// returns the query, the page showing the filters, and what is wrong with
// them, every problem at once.
func auditFilters(q url.Values) (keyplane.AuditQuery, auditPage, []string) {
	page := auditPage{Type: q.Get("type"), Actor: strings.TrimSpace(q.Get("actor")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Types: auditEventTypes}
	page.FilterActive = page.Type != "" || page.Actor != "" || page.From != "" || page.To != ""
	aq := keyplane.AuditQuery{Limit: 50, NewestFirst: true}
	var msgs []string
	if page.Type != "" {
		aq.Types = []string{page.Type}
		if m := keyplane.ValidateEventTypes(aq.Types); m != "" {
			msgs = append(msgs, m)
		}
	}
	if page.Actor != "" {
		typ, id, err := keyplane.ParseAuditRef("actor", page.Actor)
		if err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
		aq.ActorType, aq.ActorID = typ, id
	}
	day := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			msgs = append(msgs, field+": must be a date YYYY-MM-DD, not "+strconv.Quote(s))
		}
		return t
	}
	aq.From = day("from", page.From)
	if to := day("to", page.To); !to.IsZero() {
		aq.To = to.AddDate(0, 0, 1) // the last day is included
	}
	if !aq.From.IsZero() && !aq.To.IsZero() && !aq.From.Before(aq.To) {
		msgs = append(msgs, "to: must be on or after from")
	}
	f := url.Values{}
	for _, k := range []string{"type", "actor", "from", "to"} {
		if v := q.Get(k); v != "" {
			f.Set(k, strings.TrimSpace(v))
		}
	}
	withFilters := func(path string, k, v string) string {
		g := url.Values{}
		for key, vs := range f {
			g[key] = vs
		}
		g.Set(k, v)
		return path + "?" + g.Encode()
	}
	page.CSV = withFilters("/account/audit/export", "format", "csv")
	page.NDJSON = withFilters("/account/audit/export", "format", "ndjson")
	page.Older = withFilters("/account/audit", "cursor", "") // the cursor is set once known
	return aq, page, msgs
}

// auditLog lists the account's audit events, newest first, filtered by
// type, actor and days, through the same operation (and the same Audit
// log row) as GET /v2/audit-events.
func (p *Portal) auditLog(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	aq, page, msgs := auditFilters(q)
	status := http.StatusOK
	if msgs == nil {
		res, err := p.svc.ListAuditEvents(r.Context(), s.P, aq, q.Get("cursor"))
		switch {
		case keyplane.ErrorCode(err) == keyplane.CodeInvalid:
			msgs = keyplane.ErrorMessages(err)
		case err != nil:
			return err
		default:
			for _, e := range res.Events {
				page.Events = append(page.Events, auditRow{e, targetURL(e.TargetType, e.TargetID)})
			}
			page.Next = res.Next
			if page.Next != "" {
				u, _ := url.Parse(page.Older)
				v := u.Query()
				v.Set("cursor", page.Next)
				u.RawQuery = v.Encode()
				page.Older = u.String()
			}
		}
	}
	if msgs != nil {
		page.Errors, status = msgs, http.StatusBadRequest
	}
	page.Invalid = invalidFields(page.Errors)
	p.render(w, r, status, "audit", s, "Audit log", page)
	return nil
}

// invalidFields names the filters the messages are about, to mark their
// inputs.
func invalidFields(msgs []string) map[string]bool {
	out := map[string]bool{}
	for f := range fieldErrors(keyplane.Invalid(msgs...), "type", "actor", "from", "to") {
		out[f] = true
	}
	return out
}

// targetURL is the page of an event's target, or "" when it has none
// (an API key is shown on its integration's page, which the event does
// not name).
func targetURL(typ string, id int64) string {
	n := strconv.FormatInt(id, 10)
	switch typ {
	case "app":
		return "/apps/" + n
	case "keyset":
		return "/keysets/" + n
	case "integration":
		return "/account/api-management/" + n
	case keyplane.ActorUser:
		return "/account/users"
	case "account":
		return "/account"
	}
	return ""
}

// auditExport answers the filtered list, every page of it, as a file to
// download: NDJSON (one event a line, as GET /v2/audit-events answers
// each) or CSV, newest first.
func (p *Portal) auditExport(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	format := q.Get("format")
	aq, page, msgs := auditFilters(q)
	if format != "csv" && format != "ndjson" {
		msgs = append(msgs, "format: must be csv or ndjson")
	}
	if msgs != nil {
		page.Errors, page.Invalid = msgs, invalidFields(msgs)
		p.render(w, r, http.StatusBadRequest, "audit", s, "Audit log", page)
		return nil
	}
	aq.Limit = keyplane.MaxAuditLimit
	var events []keyplane.AuditEvent
	cursor := ""
	for {
		res, err := p.svc.ListAuditEvents(r.Context(), s.P, aq, cursor)
		if err != nil {
			return err
		}
		events = append(events, res.Events...)
		if res.Next == "" {
			break
		}
		if len(events) >= auditExportLimit {
			return keyplane.Errorf(keyplane.CodeInvalid, "more than %d events match: narrow the filters (a range of days) and export again", auditExportLimit)
		}
		cursor = res.Next
	}
	// Built whole before answering, so that a failure on a later page is
	// an error page rather than half a file.
	var b bytes.Buffer
	switch format {
	case "ndjson":
		enc := json.NewEncoder(&b)
		for _, e := range events {
			if err := enc.Encode(e.JSON()); err != nil {
				return err
			}
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
	case "csv":
		cw := csv.NewWriter(&b)
		// New columns go last, so that readers by position keep working.
		cw.Write([]string{"id", "at", "type", "actor_type", "actor_id", "actor_name", "target_type", "target_id", "before", "after", "actor_address", "actor_user_agent"})
		for _, e := range events {
			actorID := ""
			if e.Actor.ID != 0 {
				actorID = strconv.FormatInt(e.Actor.ID, 10)
			}
			cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Type, e.Actor.Type, actorID,
				csvSafe(e.Actor.Name), e.TargetType, strconv.FormatInt(e.TargetID, 10), string(e.Before), string(e.After),
				e.Actor.Address, csvSafe(e.Actor.UserAgent)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="keyplane-audit-%s.%s"`, p.now().UTC().Format("2006-01-02"), format))
	_, err := w.Write(b.Bytes())
	return err
}

// csvSafe keeps a name a person chose from being read as a formula by a
// spreadsheet that opens the file.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditEventPage is one event's own page: what it records, and the change
// itself where it records one.
type auditEventPage struct {
	keyplane.AuditEvent
	TargetURL string
	Changes   []auditChange
	// Created and Removed hold what an event recorded on one side only
	// (a thing made, or deleted), as its fields.
	Created, Removed []auditChange
}

// auditChange is one field of an event's before or after.
type auditChange struct{ Path, Before, After string }

// auditEvent shows one event with the change it recorded, before → after.
func (p *Portal) auditEvent(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := p.svc.AuditEvent(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	page := auditEventPage{AuditEvent: e, TargetURL: targetURL(e.TargetType, e.TargetID)}
	before, after := flatJSON(e.Before), flatJSON(e.After)
	var paths []string
	for k := range before {
		paths = append(paths, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			paths = append(paths, k)
		}
	}
	slices.Sort(paths)
	for _, k := range paths {
		b, inB := before[k]
		a, inA := after[k]
		switch {
		case inB && inA && a != b:
			page.Changes = append(page.Changes, auditChange{k, b, a})
		case inA && !inB && len(before) == 0:
			page.Created = append(page.Created, auditChange{Path: k, After: a})
		case inB && !inA && len(after) == 0:
			page.Removed = append(page.Removed, auditChange{Path: k, Before: b})
		case inA != inB:
			page.Changes = append(page.Changes, auditChange{k, orNone(b, inB), orNone(a, inA)})
		}
	}
	p.render(w, r, http.StatusOK, "audit-event", s, "Audit event "+strconv.FormatInt(id, 10), page)
	return nil
}

func orNone(v string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return v
}

// flatJSON lays a recorded JSON value out as its leaves by path
// ("presence.interval" → "30"); a value that is not an object is the
// single leaf "value". Nothing recorded is no leaf.
func flatJSON(raw []byte) map[string]string {
	out := map[string]string{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return out
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		out["value"] = string(raw)
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, c := range m {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, c)
			}
			return
		}
		if prefix == "" {
			prefix = "value"
		}
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
	walk("", v)
	return out
}
