package mail

import (
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// The messages Keyplane sends. Each says what happened, why the reader
// got it, the link, how long it works, and what to do if it was not for
// them. The HTML part is the same words; its only link is the one link,
// and it loads nothing from anywhere.

// Invitation is what an invitation message says.
type Invitation struct {
	To string
	// Account is the account's name, Inviter who invited (an e-mail
	// address, or "The operator"), Role the role's label.
	Account, Inviter, Role string
	Link                   string
	// Valid says how long the link works ("7 days").
	Valid string
}

// PasswordReset is what a password reset message says.
type PasswordReset struct {
	To, Link, Valid string
}

// Signup is what the message confirming a sign-up's address says.
type Signup struct {
	To, Link, Valid string
}

// WebhookDisabled is what the message telling an Owner that the server
// disabled a webhook of their account says.
type WebhookDisabled struct {
	To, Account string
	// URL is the receiver's, Reason why it was disabled, Link the
	// webhook's page in the portal.
	URL, Reason, Link string
}

// KeyNotice is what the message about an API key that expires soon or
// went unused says.
type KeyNotice struct {
	To, Account string
	// Integration is the key's Service Integration, Prefix the key's first
	// characters, Expires its expiry (as people read it).
	Integration, Prefix, Expires string
	// Unused tells a disuse notice (LastUsed is then when it was last
	// used, or "never"); otherwise the key expires in DaysLeft days.
	Unused   bool
	DaysLeft int
	LastUsed string
	// Link is the integration's page in the portal.
	Link string
}

var (
	texts = texttemplate.Must(texttemplate.New("").Parse(`
{{define "invitation"}}{{.Inviter}} invited you to the account "{{.Account}}" on ` + Product + `, as {{.Role}}.

To join, open this link within {{.Valid}} and choose a password (or, if you already sign in to ` + Product + ` with this address, give yours):

{{.Link}}

The link works once. If you did not expect this invitation, ignore this message: nothing happens unless the link is opened and the form sent.
{{end}}
{{define "reset"}}Someone (we hope you) asked to reset the password of {{.To}} on ` + Product + `.

To choose a new password, open this link within {{.Valid}}:

{{.Link}}

The link works once. Choosing a new password signs you out everywhere. If you did not ask for this, ignore this message: your password stays as it is.
{{end}}
{{define "signup"}}Someone (we hope you) asked to create a ` + Product + ` account for {{.To}}.

To confirm this address and create the account, open this link within {{.Valid}}:

{{.Link}}

The link works once. If you did not ask for this, ignore this message: nothing is created.
{{end}}
{{define "webhook-disabled"}}A webhook of the account "{{.Account}}" on ` + Product + ` was disabled: {{.Reason}}.

Receiver: {{.URL}}

Nothing is sent to it now, and events recorded meanwhile are not queued for it. Once the receiver works again, turn the webhook on in the portal (deliveries still waiting then start their retries afresh), or through the API (PATCH /v2/webhooks/{id} with "enabled": true):

{{.Link}}

You get this message as an Owner of the account.
{{end}}
{{define "key-notice"}}{{if .Unused}}An API key of the account "{{.Account}}" on ` + Product + ` has not been used for 30 days (last used: {{.LastUsed}}).{{else}}An API key of the account "{{.Account}}" on ` + Product + ` expires {{if eq .DaysLeft 0}}within a day{{else if eq .DaysLeft 1}}in 1 day{{else}}in {{.DaysLeft}} days{{end}}, on {{.Expires}}.{{end}}

Service Integration: {{.Integration}}
Key: {{.Prefix}}…

{{if .Unused}}If nothing uses it any more, revoke it; a key nobody uses is one nobody would miss if it leaked.{{else}}Roll the key (a new key is made and the old one keeps working for an overlap) and move your programs to the new one before then.{{end}} Its integration's page:

{{.Link}}

You get this message as an Owner or Admin of the account.
{{end}}`))

	htmls = htmltemplate.Must(htmltemplate.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + Product + `</title></head><body style="font-family:sans-serif;line-height:1.5;color:#1f2933;max-width:36em">
<p style="font-weight:bold;font-size:1.2em">` + Product + `</p>{{end}}
{{define "foot"}}</body></html>{{end}}
{{define "button"}}<p><a href="{{.}}" style="display:inline-block;padding:.6em 1.2em;background:#c6232c;color:#fff;text-decoration:none;border-radius:4px">{{template "label" .}}</a></p>
<p style="font-size:.9em;color:#52606d">Or copy this address into your browser:<br>{{.}}</p>{{end}}
{{define "label"}}Open{{end}}
{{define "invitation"}}{{template "head"}}
<p>{{.Inviter}} invited you to the account &ldquo;{{.Account}}&rdquo; on ` + Product + `, as {{.Role}}.</p>
<p>To join, open this link within {{.Valid}} and choose a password (or, if you already sign in to ` + Product + ` with this address, give yours):</p>
{{template "button" .Link}}
<p>The link works once. If you did not expect this invitation, ignore this message: nothing happens unless the link is opened and the form sent.</p>
{{template "foot"}}{{end}}
{{define "reset"}}{{template "head"}}
<p>Someone (we hope you) asked to reset the password of {{.To}} on ` + Product + `.</p>
<p>To choose a new password, open this link within {{.Valid}}:</p>
{{template "button" .Link}}
<p>The link works once. Choosing a new password signs you out everywhere. If you did not ask for this, ignore this message: your password stays as it is.</p>
{{template "foot"}}{{end}}
{{define "signup"}}{{template "head"}}
<p>Someone (we hope you) asked to create a ` + Product + ` account for {{.To}}.</p>
<p>To confirm this address and create the account, open this link within {{.Valid}}:</p>
{{template "button" .Link}}
<p>The link works once. If you did not ask for this, ignore this message: nothing is created.</p>
{{template "foot"}}{{end}}
{{define "webhook-disabled"}}{{template "head"}}
<p>A webhook of the account &ldquo;{{.Account}}&rdquo; on ` + Product + ` was disabled: {{.Reason}}.</p>
<p>Receiver: {{.URL}}</p>
<p>Nothing is sent to it now, and events recorded meanwhile are not queued for it. Once the receiver works again, turn the webhook on in the portal (deliveries still waiting then start their retries afresh), or through the API (PATCH /v2/webhooks/{id} with &ldquo;enabled&rdquo;: true):</p>
{{template "button" .Link}}
<p>You get this message as an Owner of the account.</p>
{{template "foot"}}{{end}}
{{define "key-notice"}}{{template "head"}}
<p>{{if .Unused}}An API key of the account &ldquo;{{.Account}}&rdquo; on ` + Product + ` has not been used for 30 days (last used: {{.LastUsed}}).{{else}}An API key of the account &ldquo;{{.Account}}&rdquo; on ` + Product + ` expires {{if eq .DaysLeft 0}}within a day{{else if eq .DaysLeft 1}}in 1 day{{else}}in {{.DaysLeft}} days{{end}}, on {{.Expires}}.{{end}}</p>
<p>Service Integration: {{.Integration}}<br>Key: {{.Prefix}}…</p>
<p>{{if .Unused}}If nothing uses it any more, revoke it; a key nobody uses is one nobody would miss if it leaked.{{else}}Roll the key (a new key is made and the old one keeps working for an overlap) and move your programs to the new one before then.{{end}} Its integration's page:</p>
{{template "button" .Link}}
<p>You get this message as an Owner or Admin of the account.</p>
{{template "foot"}}{{end}}`))
)

// render fills the text and HTML templates name with data. The templates
// are fixed and their data plain strings, so only a bug can fail here.
func render(name, to, subject string, data any) Message {
	var t, h strings.Builder
	if err := texts.ExecuteTemplate(&t, name, data); err != nil {
		panic(err)
	}
	if err := htmls.ExecuteTemplate(&h, name, data); err != nil {
		panic(err)
	}
	return Message{To: to, Subject: subject, Text: strings.TrimLeft(t.String(), "\n"), HTML: strings.TrimLeft(h.String(), "\n")}
}

// InvitationMessage is the message inviting i.To.
func InvitationMessage(i Invitation) Message {
	return render("invitation", i.To, "You are invited to "+oneLine(i.Account)+" on "+Product, i)
}

// PasswordResetMessage is the message with a link to choose a new password.
func PasswordResetMessage(r PasswordReset) Message {
	return render("reset", r.To, "Reset your "+Product+" password", r)
}

// SignupMessage is the message confirming the address of a sign-up.
func SignupMessage(s Signup) Message {
	return render("signup", s.To, "Confirm your address to create your "+Product+" account", s)
}

// WebhookDisabledMessage is the message telling an Owner that a webhook
// was disabled.
func WebhookDisabledMessage(w WebhookDisabled) Message {
	return render("webhook-disabled", w.To, "A webhook of "+oneLine(w.Account)+" was disabled", w)
}

// KeyNoticeMessage is the message about an API key that expires soon or
// went unused.
func KeyNoticeMessage(k KeyNotice) Message {
	subject := "An API key of " + oneLine(k.Account) + " expires soon"
	if k.Unused {
		subject = "An API key of " + oneLine(k.Account) + " has not been used for 30 days"
	}
	return render("key-notice", k.To, subject, k)
}

// oneLine keeps a value that goes into a header to one line (account
// names cannot hold control characters; this is the second line of defence).
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
