package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// overlapChoice is an overlap a roll may be given.
type overlapChoice struct {
	Value, Label string
	Selected     bool
}

// overlaps are the overlaps the Roll form offers: the default 24 hours
// first selected, up to the 30-day maximum, and none.
var overlaps = []struct {
	d     time.Duration
	label string
}{
	{0, "No overlap: it stops now"}, {time.Hour, "1 hour"}, {24 * time.Hour, "24 hours"},
	{7 * 24 * time.Hour, "7 days"}, {30 * 24 * time.Hour, "30 days"},
}

func parseOverlap(s string) (time.Duration, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	for _, o := range overlaps {
		if err == nil && time.Duration(n)*time.Second == o.d {
			return o.d, true
		}
	}
	return 0, false
}

func (p *Portal) rollKeyForm(w http.ResponseWriter, r *http.Request, s *session) error {
	in, k, base, err := p.keyOfIntegration(r, s)
	if err != nil {
		return err
	}
	var choices []overlapChoice
	for _, o := range overlaps {
		choices = append(choices, overlapChoice{strconv.FormatInt(int64(o.d/time.Second), 10), o.label, o.d == keyplane.DefaultRollOverlap})
	}
	p.render(w, r, http.StatusOK, "confirm", s, "Roll API key", confirmPage{
		Heading: "Roll API key " + k.Prefix + "…?",
		Body: "A new API key for “" + in.Name + "” is made and shown once. The old key keeps working for the overlap you choose, " +
			"so programs can move to the new one, then stops by itself. While both work, both count against the three active keys.",
		Action: base + "/keys/" + strconv.FormatInt(k.ID, 10) + "/roll", Button: "Roll API key", Cancel: base, Overlaps: choices})
	return nil
}

func (p *Portal) rollKey(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	keyID, err := pathID(r, "key")
	if err != nil {
		return err
	}
	overlap, ok := parseOverlap(r.PostFormValue("overlap"))
	if !ok {
		return keyplane.Errorf(keyplane.CodeInvalid, "overlap: choose one of the offered overlaps")
	}
	_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		old, key, err := p.svc.RollIntegrationKey(ctx, s.P, id, keyID, overlap)
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{IntegrationID: id, APIKeyPrefix: key.Prefix, APIKeyExpires: key.ExpiresAt, Secret: key.Key,
			OldKeyPrefix: old.Prefix, OldKeyUntil: old.ExpiresAt}, nil
	})
	return err
}

// suspend suspends (or resumes) an integration from its page.
func (p *Portal) suspend(suspended bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		done := "suspended"
		if !suspended {
			done = "resumed"
		}
		_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, _, err := p.svc.SetIntegrationSuspended(ctx, s.P, id, suspended)
			return "/account/api-management/" + strconv.FormatInt(id, 10) + "?done=" + done, nil, err
		})
		return err
	}
}

// splitNetworks reads the networks of a form's text area: one per line,
// or separated by commas or spaces.
func splitNetworks(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (p *Portal) setNetworks(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return err
	}
	text := r.PostFormValue("networks")
	networks, err := keyplane.ParseNetworks("networks", splitNetworks(text))
	if err == nil {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, _, err := p.svc.SetIntegrationNetworks(ctx, s.P, id, networks)
			return "/account/api-management/" + strconv.FormatInt(id, 10) + "?done=networks-saved", nil, err
		})
		if done {
			return nil
		}
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			return err
		}
	}
	page, perr := p.integrationPage(r, s, id)
	if perr != nil {
		return perr
	}
	page.NetworksText, page.NetworksErr = text, keyplane.ErrorMessages(err)
	p.render(w, r, http.StatusBadRequest, "integration", s, page.Name, page)
	return nil
}

// policyForm is the key policy as the API Management page shows and edits it.
type policyForm struct {
	keyplane.AccountPolicy
	CanSet     bool
	MaxDays    string // "" for none
	NoticeDays string
	Errors     []string
}

func (p *Portal) policyForm(r *http.Request, s *session) (policyForm, error) {
	pol, err := p.svc.AccountPolicy(r.Context(), s.P)
	if err != nil {
		return policyForm{}, err
	}
	f := policyForm{AccountPolicy: pol, CanSet: p.svc.MaySetAccountPolicy(s.P) == nil, NoticeDays: keyplane.FormatNoticeDays(pol.NoticeDays)}
	if pol.MaxKeyLifetime > 0 {
		f.MaxDays = strconv.Itoa(int(pol.MaxKeyLifetime / (24 * time.Hour)))
	}
	return f, nil
}

func (p *Portal) setPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := p.svc.MaySetAccountPolicy(s.P); err != nil {
		return err
	}
	maxDays, noticeText := strings.TrimSpace(r.PostFormValue("max-days")), r.PostFormValue("notice-days")
	var msgs []string
	pol := keyplane.AccountPolicy{}
	if maxDays != "" {
		n, err := strconv.Atoi(maxDays)
		if err != nil || n < 1 {
			msgs = append(msgs, "maxKeyLifetime: a whole number of days from 1 to 365, or empty for the one-year ceiling")
		}
		pol.MaxKeyLifetime = time.Duration(n) * 24 * time.Hour
	}
	days, err := keyplane.ParseNoticeDays(noticeText)
	if err != nil {
		msgs = append(msgs, keyplane.ErrorMessages(err)...)
	}
	pol.NoticeDays = days
	if len(msgs) == 0 {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, _, err := p.svc.SetAccountPolicy(ctx, s.P, pol)
			return "/account/api-management?done=policy-saved", nil, err
		})
		if done {
			return nil
		}
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			return err
		}
		msgs = keyplane.ErrorMessages(err)
	}
	page, err := p.integrationsPage(r, s)
	if err != nil {
		return err
	}
	page.Policy.MaxDays, page.Policy.NoticeDays, page.Policy.Errors = maxDays, noticeText, msgs
	p.render(w, r, http.StatusBadRequest, "integrations", s, "API Management", page)
	return nil
}

// noticeRow is one key of the API Management list filtered to keys that
// need attention.
type noticeRow struct {
	control.KeyNoticeOf
	Why string
}

// noticeSummary is what the banner says: how many keys expire soon, how
// many are unused.
type noticeSummary struct {
	Expiring, Unused int
}

func summarizeNotices(ns []control.KeyNoticeOf) noticeSummary {
	var out noticeSummary
	for _, n := range ns {
		switch n.Notice.Kind {
		case keyplane.NoticeExpiry:
			out.Expiring++
		case keyplane.NoticeUnused:
			out.Unused++
		}
	}
	return out
}

// noticeWhy says why a key is listed, in the list filtered to them.
func noticeWhy(n control.KeyNoticeOf, now time.Time) string {
	if n.Notice.Kind == keyplane.NoticeUnused {
		if n.Key.LastUsedAt == nil {
			return "Never used since it was made on " + n.Key.CreatedAt.UTC().Format("Jan 2, 2006")
		}
		return "Not used since " + n.Key.LastUsedAt.UTC().Format("Jan 2, 2006")
	}
	left := n.Key.ExpiresAt.Sub(now)
	if left <= 24*time.Hour {
		return "Expires within a day"
	}
	// Whole days, rounded up: a key made for 10 days reads "10 days" for
	// the whole of its first day.
	return "Expires in " + strconv.Itoa(int((left+24*time.Hour-1)/(24*time.Hour))) + " days"
}
