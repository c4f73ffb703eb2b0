package portal

import (
	"context"
	"net/http"
)

// endSession signs the person out of one of their other sessions, from My
// Account's list.
func (p *Portal) endSession(w http.ResponseWriter, r *http.Request, s *session) error {
	handle := r.PathValue("handle")
	_, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		return "/account?done=session-ended#sessions", nil, p.svc.EndSession(ctx, s.P, handle)
	})
	return err
}

// endOtherSessions signs the person out of every session but this one.
func (p *Portal) endOtherSessions(w http.ResponseWriter, r *http.Request, s *session) error {
	_, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		return "/account?done=sessions-ended#sessions", nil, p.svc.EndOtherSessions(ctx, s.P, s.cookie)
	})
	return err
}

// endMemberSessions is an Owner's or Admin's "Sign out" of a member, on
// the Users page, through the operation that decides who may.
func (p *Portal) endMemberSessions(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		_, err := p.svc.EndMemberSessions(ctx, s.P, id)
		return "/account/users?done=member-signed-out", nil, err
	})
}
