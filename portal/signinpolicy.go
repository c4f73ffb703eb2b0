package portal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// signInPolicyData adds to the Users page who has a second factor, and the
// account's sign-in policy.
func (p *Portal) signInPolicyData(r *http.Request, s *session, page *usersPage) (err error) {
	if page.Enrolled, err = p.svc.EnrolledMembers(r.Context(), s.P); err != nil {
		return err
	}
	if page.Policy, err = p.svc.SignInPolicy(r.Context(), s.P); err != nil {
		return err
	}
	page.CanSetPolicy = p.svc.MaySetSignInPolicy(s.P) == nil
	if page.SessionErrors == nil {
		page.IdleMinutes, page.LifetimeMinutes = minutes(page.Policy.IdleTimeout), minutes(page.Policy.Lifetime)
	}
	return nil
}

// setSignInPolicy is the Owner's "require two factors", through the same
// operation as keyplane admin set-account-policy.
func (p *Portal) setSignInPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	_, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, _, err := p.svc.SetSignInPolicy(ctx, s.P, s.P.AccountID, r.PostFormValue("require-two-factors") == "on")
		return "/account/users?done=signin-policy-saved", nil, err
	})
	return err
}

// setSessionLimits is the Owner's idle timeout and session lifetime, in
// minutes (empty: none, and the 12-hour default), through the same
// operation as keyplane admin set-account-policy.
func (p *Portal) setSessionLimits(w http.ResponseWriter, r *http.Request, s *session) error {
	idleText, lifetimeText := r.PostFormValue("sessionIdleTimeout"), r.PostFormValue("sessionLifetime")
	idle, ierr := formMinutes("sessionIdleTimeout", idleText, "none")
	lifetime, lerr := formMinutes("sessionLifetime", lifetimeText, "the default, 12 hours")
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		var msgs []string
		for _, err := range []error{ierr, lerr} {
			if err != nil {
				msgs = append(msgs, keyplane.ErrorMessages(err)...)
			}
		}
		if len(msgs) > 0 {
			return "", nil, keyplane.Invalid(msgs...)
		}
		_, _, err := p.svc.SetSessionLimits(ctx, s.P, s.P.AccountID, idle, lifetime)
		return "/account/users?done=session-limits-saved#signin-policy", nil, err
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.usersPage(r, s, usersPage{IdleMinutes: idleText, LifetimeMinutes: lifetimeText,
		SessionErrors: fieldErrors(err, "sessionIdleTimeout", "sessionLifetime")})
	if perr != nil {
		return perr
	}
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "users", s, "Users", page)
	return nil
}

// formMinutes reads a form's whole number of minutes; empty is 0, which
// means what zero says.
func formMinutes(field, text, zero string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(text)
	d := time.Duration(n) * time.Minute
	if err != nil || d < keyplane.MinSessionLimit || d > keyplane.MaxSessionLifetime {
		return 0, keyplane.Invalid(fmt.Sprintf("%s: a whole number of minutes from %d to %d, or empty for %s",
			field, keyplane.MinSessionLimit/time.Minute, keyplane.MaxSessionLifetime/time.Minute, zero))
	}
	return d, nil
}

// minutes shows a duration in a minutes field: empty for 0.
func minutes(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/time.Minute), 10)
}
