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
// address somebody has). WaitMail waits for these.
func (s *Service) sendLater(what string, m mail.Message) {
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		s.sendNow(context.Background(), what, m)
	}()
}

// WaitMail waits until the messages being sent in the background are
// sent (or have failed), or ctx ends: a server stopping lets them finish.
func (s *Service) WaitMail(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.mailWG.Wait(); close(done) }()
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
