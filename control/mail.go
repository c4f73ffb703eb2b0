package control

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/mail"
)

// The paths of the links the e-mail flows send, each with ?token=…: the
// portal serves them.
const (
	InvitationPath = "/invitation"
	ResetPath      = "/reset"
	SignupPath     = "/signup/confirm"
)

// mailTimeout bounds the sending of one message.
const mailTimeout = 15 * time.Second

// MailEnabled tells whether messages can be sent (a mail server is set
// up); without one, links are handed back to be shown instead.
func (s *Service) MailEnabled() bool { return s.mailer != nil }

// SignupEnabled tells whether self-service sign-up is on.
func (s *Service) SignupEnabled() bool { return s.signup && s.mailer != nil }

// link is the address of path with token, under the public URL.
func (s *Service) link(path, token string) string {
	return s.publicURL + path + "?token=" + url.QueryEscape(token)
}

// sendNow sends m and says whether it went; a failure is logged (without
// the message, which holds a link) and reported as false.
func (s *Service) sendNow(ctx context.Context, what string, m mail.Message) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
	defer cancel()
	if err := s.mailer.Send(ctx, m); err != nil {
		s.log.Warn("sending mail failed", "what", what, "err", err)
		return false
	}
	return true
}

// sendLater sends m in the background: the request that asked for it is
// answered at once, as it would be if nothing were sent (a password reset
// for an address nobody has must not take less time than one for an
// address somebody has).
func (s *Service) sendLater(what string, m mail.Message) {
	s.later(func(ctx context.Context) { s.sendNow(ctx, what, m) })
}

// later runs f in the background, after the request is answered: for work
// whose time must not show in the answer's (mail, the record of a failed
// sign-in). WaitBackground waits for it.
func (s *Service) later(f func(context.Context)) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		f(context.Background())
	}()
}

// WaitBackground waits until the work started in the background (messages
// being sent, failed sign-ins being recorded) is done, or ctx ends: a
// server stopping lets it finish.
func (s *Service) WaitBackground(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// validity writes a link's lifetime as the messages and pages say it.
func validity(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d > 24*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " days"
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	}
	return d.String()
}

// checkEmail normalizes and validates an address given to a flow.
func checkEmail(email string) (string, error) {
	email = keyplane.NormalizeEmail(email)
	return email, keyplane.Invalid(nonEmpty(keyplane.ValidateEmail("email", email))...)
}
