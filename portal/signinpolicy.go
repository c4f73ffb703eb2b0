package portal

import (
	"context"
	"net/http"
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
