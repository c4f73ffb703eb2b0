package portal

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

type usersPage struct {
	Users []keyplane.User
	Me    int64
	Email string
	Role  string
	// PickedApps and PickedKeysets are the scope sent with a refused
	// form, shown again.
	PickedApps, PickedKeysets []int64
	Roles                     []keyplane.Role // the roles one may give: not Owner
	// Apps and Keysets are what a scoped role may be given: the account's,
	// as the lists show them to the person giving it.
	Apps      []keyplane.App
	Keysets   []keyplane.Keyset
	Errors    map[string][]string
	Generated string // a generated password, shown once
	Created   string // whose

	// Invitations are the pending ones; Mail tells whether they are
	// mailed (else their links are shown to hand over).
	Invitations []keyplane.Invitation
	Mail        bool
	Now         time.Time
	// The invitation form sent back with its errors.
	InviteEmail, InviteRole   string
	InviteApps, InviteKeysets []int64
	InviteErrors              map[string][]string
	// InviteLink is an invitation's link, shown once, for Invited;
	// InviteMailFailed says the mail server failed to send it.
	InviteLink, Invited string
	InviteMailFailed    bool
	// Enrolled are the members with a second factor; Policy is the
	// account's sign-in policy, which CanSetPolicy (the Owner) may change.
	Enrolled     map[int64]bool
	Policy       keyplane.SignInPolicy
	CanSetPolicy bool
	// The session limits form: its fields in minutes, as shown (the
	// policy's, or what was sent with errors).
	IdleMinutes, LifetimeMinutes string
	SessionErrors                map[string][]string
}

func (p *Portal) usersPage(r *http.Request, s *session, page usersPage) (usersPage, error) {
	us, err := p.svc.ListUsers(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	page.Users, page.Me = us, s.P.UserID
	if err := p.signInPolicyData(r, s, &page); err != nil {
		return page, err
	}
	for _, r := range keyplane.Roles {
		if r != keyplane.RoleOwner {
			page.Roles = append(page.Roles, r)
		}
	}
	// Only someone who may change people picks apps and keysets; the
	// lists answer with what their rows let them read.
	if s.CanManage {
		if page.Apps, err = p.allApps(r.Context(), s.P); err != nil && keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			return page, err
		}
		if page.Keysets, err = p.allKeysets(r.Context(), s.P); err != nil && keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			return page, err
		}
	}
	if page.Role == "" {
		page.Role = string(keyplane.RoleViewer)
	}
	if page.InviteRole == "" {
		page.InviteRole = string(keyplane.RoleViewer)
	}
	if page.Invitations, err = p.svc.ListInvitations(r.Context(), s.P); err != nil {
		return page, err
	}
	page.Mail, page.Now = p.svc.MailEnabled(), p.now()
	return page, nil
}

func (p *Portal) users(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.usersPage(r, s, usersPage{})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "users", s, "Users", page)
	return nil
}

func (p *Portal) createUser(w http.ResponseWriter, r *http.Request, s *session) error {
	email, role := firstLine(r.PostFormValue("email")), r.PostFormValue("role")
	apps, keysets, ferr := formScope(r)
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		if ferr != nil {
			return "", nil, ferr
		}
		u, generated, err := p.svc.CreateUser(ctx, s.P, control.NewUser{
			Email: email, Password: r.PostFormValue("password"), Role: keyplane.Role(role), Apps: apps, Keysets: keysets})
		if err != nil || generated == "" {
			return "/account/users?done=user-added", nil, err
		}
		return shownURL(r), &shownSecret{Email: u.Email, Secret: generated}, nil
	})
	if done {
		return nil
	}
	if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
		return err
	}
	page, perr := p.usersPage(r, s, usersPage{Email: email, Role: role, PickedApps: apps, PickedKeysets: keysets,
		Errors: fieldErrors(err, "email", "password", "role", "apps", "keysets")})
	if perr != nil {
		return perr
	}
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "users", s, "Users", page)
	return nil
}

// passwordShown shows, once, the password generated for a new user.
func (p *Portal) passwordShown(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || sec.Email == "" {
		p.goneSecret(w, r, s, "password", "If it was not copied, remove the user and add them again.")
		return nil
	}
	page, err := p.usersPage(r, s, usersPage{Generated: sec.Secret, Created: sec.Email})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "users", s, "Users", page)
	return nil
}

func (p *Portal) changeRole(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		apps, keysets, err := formScope(r)
		if err != nil {
			return "", nil, err
		}
		_, err = p.svc.ChangeUserRole(ctx, s.P, id, control.Scope{Role: keyplane.Role(r.PostFormValue("role")), Apps: apps, Keysets: keysets})
		return "/account/users?done=role-changed", nil, err
	})
}

func (p *Portal) removeUserForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return err
	}
	us, err := p.svc.ListUsers(r.Context(), s.P)
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.ID == id {
			p.render(w, r, http.StatusOK, "confirm", s, "Remove user", confirmPage{
				Heading: "Remove " + u.Email + "?",
				Body:    "They are signed out at once and can no longer sign in.",
				Action:  "/account/users/" + strconv.FormatInt(id, 10) + "/remove", Button: "Remove user", Cancel: "/account/users", Danger: true})
			return nil
		}
	}
	return keyplane.Errorf(keyplane.CodeNotFound, "user %d: not found", id)
}

func (p *Portal) removeUser(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		return "/account/users?done=user-removed", nil, p.svc.RemoveUser(ctx, s.P, id)
	})
}

// formScope reads the apps and keysets a scoped role is given: the values
// of the form's app and keyset fields (checkboxes), each an id.
func formScope(r *http.Request) (apps, keysets []int64, err error) {
	if err := r.ParseForm(); err != nil {
		return nil, nil, keyplane.Errorf(keyplane.CodeInvalid, "form: %v", err)
	}
	read := func(field, name string) ([]int64, error) {
		var out []int64
		for _, v := range r.PostForm[field] {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id < 1 {
				return nil, keyplane.Errorf(keyplane.CodeInvalid, "%s: %q is not an id", name, v)
			}
			out = append(out, id)
		}
		return out, nil
	}
	if apps, err = read("app", "apps"); err != nil {
		return nil, nil, err
	}
	keysets, err = read("keyset", "keysets")
	return apps, keysets, err
}
