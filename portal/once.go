package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Forms act once. Every page that holds a state-changing form carries a
// form token in its own URL (?form=…; render adds one by a redirect when
// it is missing), and every such form sends it back. Living in the URL,
// the token belongs to the browser's history entry: a reload, a double
// click, or going back to the page and sending it again all send the same
// token, even though pages are never cached (Cache-Control: no-store) and
// the browser fetches the page again on Back.
//
// A POST runs through once, which uses the idempotency records the API
// keeps (control.BeginIdempotent): the key is the session, the token and
// the form's path, so the operation records it in its own write
// transaction, and a second sending of the form is answered with the
// first one's redirect instead of running again. A token is no secret: it
// only names a submission, and is useless without the session cookie.
//
// A secret shown once (an API key, a secret key, a generated password) is
// stored as the body of that answer (sealed under the KEK, like the API's
// own stored answers) and the redirect leads to the form's path + /shown:
// that page takes the body out (control.TakeIdempotentBody) and shows it,
// once. Reloading it, or sending the form again, finds the answer without
// its body and says the secret can no longer be shown. The secret never
// travels in a URL.

// formField names the form token, in page URLs and in forms.
const formField = "form"

// twinWait bounds how long a second sending of a form waits for the first
// to finish (a double click sends both at once), before it says to reload.
const twinWait = 10 * time.Second

// newFormToken returns a fresh form token: 128 random bits in base32.
func newFormToken() string { return rand.Text() }

// validFormToken reports whether s is shaped like a token newFormToken
// makes; nothing else is looked up.
func validFormToken(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// withFormToken is the URL of r with a fresh form token added.
func withFormToken(r *http.Request) string {
	q := r.URL.Query()
	q.Set(formField, newFormToken())
	return r.URL.Path + "?" + q.Encode()
}

// formKey is the idempotency key of a form sent with token to path in
// session s. The session's part is a hash of its cookie, so a token is
// worth nothing in another session, even of the same user.
func (s *session) formKey(token, path string) string {
	h := sha256.Sum256([]byte("keyplane portal form\x00" + s.cookie + "\x00" + token + "\x00" + path))
	return "portal:" + hex.EncodeToString(h[:])
}

// formFingerprint is what a form sent: its path and fields, in canonical
// order. The same token with other fields is another request (control
// refuses it with 422), so changed values are never silently dropped.
func formFingerprint(r *http.Request) []byte {
	keys := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if k != formField {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00"))
	for _, k := range keys {
		h.Write([]byte(url.QueryEscape(k) + "=" + url.QueryEscape(strings.Join(r.PostForm[k], "\x00")) + "&"))
	}
	return h.Sum(nil)
}

// shownURL is where the answer to r goes to show a secret once.
func shownURL(r *http.Request) string {
	return r.URL.Path + "/shown?" + formField + "=" + url.QueryEscape(r.PostFormValue(formField))
}

// once runs act for the form r sends, at most once per form token. act
// returns where to go next and, when it made a secret to show once, that
// secret (kept, sealed, for the page at shownURL). When once answered the
// request itself (a redirect, a replay, an error page) it reports true;
// otherwise act failed and returned err, which the caller shows (a form
// with errors beside its fields, usually), having changed nothing.
func (p *Portal) once(w http.ResponseWriter, r *http.Request, s *session, act func(ctx context.Context) (next string, secret *shownSecret, err error)) (bool, error) {
	if err := r.ParseForm(); err != nil {
		return false, keyplane.Errorf(keyplane.CodeInvalid, "form: unreadable")
	}
	token := r.PostForm.Get(formField)
	if !validFormToken(token) {
		p.render(w, r, http.StatusBadRequest, "error", s, "Page out of date", errorPage{Title: "Page out of date",
			Messages: []string{"This form came from a page without a form token (perhaps opened before an update). Nothing was changed: open the page again and send the form from there."}})
		return true, nil
	}
	key, fp := s.formKey(token, r.URL.Path), formFingerprint(r)
	deadline := time.Now().Add(twinWait)
	for {
		claim, stored, err := p.svc.BeginIdempotent(r.Context(), s.P, key, fp)
		switch {
		case stored != nil:
			p.replay(w, r, s, stored)
			return true, nil
		case keyplane.ErrorCode(err) == keyplane.CodeConflict && time.Now().Before(deadline):
			// The same form, sent twice at once: the first is still at
			// work. Wait for its answer and give it to this one too, which
			// is the one the browser shows.
			if !sleep(r.Context(), 50*time.Millisecond) {
				return true, nil
			}
			continue
		case keyplane.ErrorCode(err) == keyplane.CodeUnprocessable:
			p.render(w, r, http.StatusUnprocessableEntity, "error", s, "Form already sent", errorPage{Title: "Form already sent",
				Messages: []string{"This form was already sent, with other values, and was carried out then; it was not carried out again. To make another change, open the page again (not with Back) and send the form from there."}})
			return true, nil
		case err != nil:
			p.fail(w, r, s, err)
			return true, nil
		}
		next, secret, err := act(control.WithIdempotency(r.Context(), claim))
		if err != nil {
			if keyplane.ErrorCode(err) == keyplane.CodeConflict && time.Now().Before(deadline) {
				// Perhaps a twin committed first (the operation's own
				// transaction found the key): look again, and if no record
				// is there, the conflict was the operation's own.
				if c, st, again := p.svc.BeginIdempotent(r.Context(), s.P, key, fp); again == nil && st == nil && c != nil {
					return false, err
				}
				continue
			}
			return false, err
		}
		ans := control.StoredResponse{Status: http.StatusSeeOther, Header: map[string]string{"Location": next}}
		if secret != nil {
			if ans.Body, err = json.Marshal(secret); err != nil {
				return false, err
			}
		}
		if err := p.svc.FinishIdempotent(r.Context(), claim, ans); err != nil {
			// Done but not kept: a second sending gets a 409 saying so,
			// never a second run; the secret can no longer be shown.
			p.log.Error("storing the answer of a portal form", "path", r.URL.Path, "err", err)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return true, nil
	}
}

// replay answers a form sent again with the first sending's answer.
func (p *Portal) replay(w http.ResponseWriter, r *http.Request, s *session, ans *control.StoredResponse) {
	if loc := ans.Header["Location"]; ans.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusConflict, "error", s, "Form already sent", errorPage{Title: "Form already sent",
		Messages: []string{"This form was already sent and carried out; it was not carried out again."}})
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// shownSecret is a secret a form made, kept to be shown once on the page
// its answer leads to, with what that page needs to show it in context.
type shownSecret struct {
	IntegrationID  int64     `json:"integrationId,omitempty"`
	NewIntegration bool      `json:"newIntegration,omitempty"`
	APIKeyPrefix   string    `json:"apiKeyPrefix,omitempty"`
	APIKeyExpires  time.Time `json:"apiKeyExpires,omitzero"`
	KeysetID       int64     `json:"keysetId,omitempty"`
	// OldKeyPrefix and OldKeyUntil are, for a roll, the key rolled and
	// when it stops.
	OldKeyPrefix string    `json:"oldKeyPrefix,omitempty"`
	OldKeyUntil  time.Time `json:"oldKeyUntil,omitzero"`
	Email        string    `json:"email,omitempty"`
	// Invitation marks an invitation's link; MailFailed says mailing it
	// was tried and failed.
	Invitation bool `json:"invitation,omitempty"`
	MailFailed bool `json:"mailFailed,omitempty"`
	// Secret is the API key, the secret key, the password, or the link.
	Secret string `json:"secret"`
	// Codes are recovery codes.
	Codes []string `json:"codes,omitempty"`
	// WebhookID is the webhook whose signing secret Secret is; Rotated
	// tells it was rotated (OldKeyUntil is then when the old secret
	// stops signing, zero for at once).
	WebhookID int64 `json:"webhookId,omitempty"`
	Rotated   bool  `json:"rotated,omitempty"`
}

// takeShown takes, once, the secret kept for the form whose path and
// token the page at r (path/shown?form=token) names. It returns nil and
// no error when it was already shown, or never was there.
func (p *Portal) takeShown(r *http.Request, s *session) (*shownSecret, error) {
	token := r.URL.Query().Get(formField)
	if !validFormToken(token) {
		return nil, nil
	}
	ans, err := p.svc.TakeIdempotentBody(r.Context(), s.P, s.formKey(token, strings.TrimSuffix(r.URL.Path, "/shown")))
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound || err == nil && len(ans.Body) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sec shownSecret
	if err := json.Unmarshal(ans.Body, &sec); err != nil {
		return nil, err
	}
	return &sec, nil
}

// goneSecret is the page a secret's page becomes once it has been shown.
func (p *Portal) goneSecret(w http.ResponseWriter, r *http.Request, s *session, what, back string) {
	p.render(w, r, http.StatusGone, "error", s, "Shown once", errorPage{Title: "Shown once",
		Messages: []string{"This " + what + " was shown once and can no longer be shown; Keyplane does not keep a copy it could show again.", back}})
}

// onceOn is once for a form whose path names what it acts on by {id}:
// act gets the id, and a path without a number is answered as a page that
// does not exist.
func (p *Portal) onceOn(w http.ResponseWriter, r *http.Request, s *session, act func(ctx context.Context, id int64) (next string, secret *shownSecret, err error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) { return act(ctx, id) })
	return err
}
