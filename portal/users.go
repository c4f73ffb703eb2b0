package portal

import (
	"net/http"
	"strconv"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

type usersPage struct {
	Users     []keyplane.User
	Me        int64
	Email     string
	Role      string
	Roles     []keyplane.Role // the roles one may give: not Owner
	Errors    map[string][]string
	Generated string // a generated password, shown once
	Created   string // whose
}

func (p *Portal) usersPage(r *http.Request, s *session, page usersPage) (usersPage, error) {
	us, err := p.svc.ListUsers(r.Context(), s.P.AccountID)
	if err != nil {
		return page, err
	}
	page.Users, page.Me, page.Roles = us, s.P.UserID, []keyplane.Role{keyplane.RoleAdmin, keyplane.RoleViewer}
	if page.Role == "" {
		page.Role = string(keyplane.RoleViewer)
	}
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
	u, generated, err := p.svc.CreateUser(r.Context(), s.P.Actor(), s.P.AccountID, control.NewUser{
		Email: email, Password: r.PostFormValue("password"), Role: keyplane.Role(role)})
	status := http.StatusCreated
	page := usersPage{}
	if err != nil {
		if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
			return err
		}
		status = httpstatus.Of(keyplane.ErrorCode(err))
		page = usersPage{Email: email, Role: role, Errors: fieldErrors(err, "email", "password", "role")}
	} else if generated != "" {
		page.Generated, page.Created = generated, u.Email
	} else {
		http.Redirect(w, r, "/account/users?done=user-added", http.StatusSeeOther)
		return nil
	}
	page, err = p.usersPage(r, s, page)
	if err != nil {
		return err
	}
	p.render(w, r, status, "users", s, "Users", page)
	return nil
}

func (p *Portal) changeRole(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := p.svc.ChangeUserRole(r.Context(), s.P.Actor(), s.P.AccountID, id, keyplane.Role(r.PostFormValue("role"))); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/users?done=role-changed", http.StatusSeeOther)
	return nil
}

func (p *Portal) removeUserForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := keyplane.MayManage(s.P.Actor()); err != nil {
		return err
	}
	us, err := p.svc.ListUsers(r.Context(), s.P.AccountID)
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
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.RemoveUser(r.Context(), s.P.Actor(), s.P.AccountID, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/users?done=user-removed", http.StatusSeeOther)
	return nil
}
