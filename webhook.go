package keyplane

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhooks send an account's audit events to receivers of its own (a SIEM,
// a chat, a ticketing system) as they happen, signed as the Standard
// Webhooks specification says so that its verifier libraries check them.
// A delivery is recorded in the same transaction as its event (an outbox),
// and sent at least once.

// The webhook operations. Webhooks are the account's, so every one acts at
// Account level and needs the Webhooks row.
var (
	OpListWebhooks          = Operation{"listWebhooks", "GET", "/v2/webhooks", LevelAccount, []Permission{read(ResourceWebhook)}, nil}
	OpCreateWebhook         = Operation{"createWebhook", "POST", "/v2/webhooks", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
	OpGetWebhook            = Operation{"getWebhook", "GET", "/v2/webhooks/{webhookId}", LevelAccount, []Permission{read(ResourceWebhook)}, nil}
	OpUpdateWebhook         = Operation{"updateWebhook", "PATCH", "/v2/webhooks/{webhookId}", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
	OpDeleteWebhook         = Operation{"deleteWebhook", "DELETE", "/v2/webhooks/{webhookId}", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
	OpRotateWebhookSecret   = Operation{"rotateWebhookSecret", "POST", "/v2/webhooks/{webhookId}/rotate-secret", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
	OpTestWebhook           = Operation{"testWebhook", "POST", "/v2/webhooks/{webhookId}/test", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
	OpListWebhookDeliveries = Operation{"listWebhookDeliveries", "GET", "/v2/webhooks/{webhookId}/deliveries", LevelAccount, []Permission{read(ResourceWebhook)}, []string{"status", "limit"}}
	OpRetryWebhookDelivery  = Operation{"retryWebhookDelivery", "POST", "/v2/webhooks/{webhookId}/deliveries/{deliveryId}/retry", LevelAccount, []Permission{write(ResourceWebhook)}, nil}
)

// Webhook audit events (Keyplane's names). WebhookDisabled is recorded by
// the delivery worker itself (WebhookActor) when a receiver answers 410 or
// a delivery has failed for WebhookGiveUpAfter; a person turning an
// endpoint off is a WebhookUpdated.
const (
	EventWebhookCreated       = "WebhookCreated"
	EventWebhookUpdated       = "WebhookUpdated"
	EventWebhookDeleted       = "WebhookDeleted"
	EventWebhookSecretRotated = "WebhookSecretRotated"
	EventWebhookDisabled      = "WebhookDisabled"
	// EventWebhookTested is a test event someone asked for: it is
	// delivered to the endpoint it names alone, whatever its filter.
	EventWebhookTested = "WebhookTested"
	// EventWebhookRedelivered is a delivery sent again on request.
	EventWebhookRedelivered = "WebhookRedelivered"
)

// WebhookTarget is the audit target type of a webhook endpoint.
const WebhookTarget = "webhook"

// WebhookActor is the actor of what the delivery worker records by itself:
// disabling an endpoint whose receiver is gone or has failed for a day.
var WebhookActor = Actor{Type: "system", Name: "webhook delivery"}

// Webhook is an endpoint of an account: where its events are sent.
type Webhook struct {
	ID          int64
	AccountID   int64
	URL         string
	Description string
	// Events are the event types sent, or AllEvents alone.
	Events []string
	// Secret is the signing secret (whsec_…): set when it is made or
	// rotated, to be shown once, and for the worker that signs; empty
	// anywhere else.
	Secret    string
	CreatedAt time.Time
	UpdatedAt time.Time
	// DisabledAt is when the endpoint was turned off (by a person, a 410
	// or a day of failures, DisabledReason says which); nil while enabled.
	DisabledAt     *time.Time
	DisabledReason string
}

// Enabled tells whether w's deliveries are sent.
func (w Webhook) Enabled() bool { return w.DisabledAt == nil }

// AllEvents in a webhook's events subscribes it to every event type,
// those added by later releases included.
const AllEvents = "*"

// Wants tells whether w subscribes to events of type typ.
func (w Webhook) Wants(typ string) bool {
	return slices.Contains(w.Events, AllEvents) || slices.Contains(w.Events, typ)
}

// Bounds of webhooks.
const (
	MaxWebhooks            = 20 // per account
	MaxWebhookURLLen       = 2048
	MaxWebhookDescription  = 255
	DefaultDeliveriesLimit = 20
	MaxDeliveriesLimit     = 100
)

// Reasons an endpoint was disabled.
const (
	DisabledByRequest = "turned off on request"
	DisabledGone      = "the receiver answered 410 Gone"
	DisabledFailing   = "every delivery attempt failed for 24 hours"
)

// ValidateWebhookEvents checks and normalizes an events list: event types
// of EventTypes, or AllEvents alone; repeats are dropped.
func ValidateWebhookEvents(field string, events []string) ([]string, string) {
	if len(events) == 0 {
		return nil, field + `: name at least one event type, or "*" for every event`
	}
	var out []string
	for _, e := range events {
		switch {
		case e == AllEvents && len(events) > 1:
			return nil, field + `: "*" stands for every event; give it alone`
		case e != AllEvents && !slices.Contains(EventTypes, e):
			return nil, fmt.Sprintf("%s: %q is not an event type; want \"*\" or some of %s", field, clip(e), strings.Join(EventTypes, ", "))
		case !slices.Contains(out, e):
			out = append(out, e)
		}
	}
	return out, ""
}

// ValidateWebhookDescription checks a description: optional, at most
// MaxWebhookDescription characters, no control characters.
func ValidateWebhookDescription(field, d string) string {
	switch {
	case !utf8.ValidString(d) || strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return field + ": must not contain control characters"
	case utf8.RuneCountInString(d) > MaxWebhookDescription:
		return fmt.Sprintf("%s: at most %d characters", field, MaxWebhookDescription)
	}
	return ""
}

// ParseWebhookURL checks a receiver's URL as far as it can be without the
// network: an absolute http(s) URL with a host, no user name or password
// (a credential in a URL ends up in logs and screens), no fragment, and
// https unless private targets are allowed (an operator's test or internal
// setup). A host that is an IP address is checked with ForbiddenAddress
// here; a name is resolved and checked by the caller.
func ParseWebhookURL(field, raw string, allowPrivate bool) (*url.URL, string) {
	if raw == "" {
		return nil, field + ": required"
	}
	if len(raw) > MaxWebhookURLLen {
		return nil, fmt.Sprintf("%s: at most %d characters", field, MaxWebhookURLLen)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return nil, field + ": not an absolute URL such as https://hooks.example.com/keyplane"
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Sprintf("%s: scheme %q; webhooks are sent over https", field, clip(u.Scheme))
	case u.Scheme == "http" && !allowPrivate:
		return nil, field + ": must be https (plain http is allowed only when the server runs with --webhooks-allow-private)"
	case u.User != nil:
		return nil, field + ": must not hold a user name or password; authenticate deliveries by their signature"
	case u.Hostname() == "":
		return nil, field + ": names no host"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, field + ": must not hold a fragment (#…), which is never sent"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Sprintf("%s: port %q is not a port number", field, clip(p))
		}
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate {
		if why := ForbiddenAddress(a); why != "" {
			return nil, fmt.Sprintf("%s: %s is %s; webhooks are not sent into private networks", field, a, why)
		}
	}
	return u, ""
}

// forbiddenNets are the destinations a webhook may not reach unless
// private targets are allowed: what is inside the server's own network or
// machine rather than on the internet, so that a webhook cannot be used to
// probe or call it (server-side request forgery).
var forbiddenNets = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT (shared) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the cloud metadata address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique-local (private) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// ForbiddenAddress tells why a webhook may not be sent to a, or "" when
// it may. IPv4 addresses written as IPv6 (::ffff:a.b.c.d, and the NAT64
// prefix 64:ff9b::/96 that routes to one) are judged as the IPv4 address
// they reach.
func ForbiddenAddress(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() {
		return "not an address"
	}
	for _, n := range forbiddenNets {
		if n.prefix.Contains(a) {
			return n.what
		}
	}
	return ""
}

// WebhookSecretPrefix starts every webhook signing secret, as the Standard
// Webhooks specification writes them.
const WebhookSecretPrefix = "whsec_"

// webhookSecretBytes is the size of a signing secret's key: 32 random
// bytes, within the 24 to 64 the specification asks for.
const webhookSecretBytes = 32

// NewWebhookSecret returns a new signing secret: whsec_ and the base64 of
// 32 bytes from r.
func NewWebhookSecret(r io.Reader) (string, error) {
	b := make([]byte, webhookSecretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// WebhookSigningKey is the HMAC key of a signing secret: the bytes the
// base64 after whsec_ encodes.
func WebhookSigningKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, WebhookSecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, fmt.Errorf("not a webhook signing secret")
	}
	return k, nil
}

// SignWebhook is the Standard Webhooks signature of a delivery: "v1," and
// the base64 HMAC-SHA256, keyed with key, of the message id, the unix
// timestamp and the body joined by dots.
func SignWebhook(key []byte, msgID string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// WebhookMessageID is the webhook-id of the delivery of an account's event
// eventID to webhook webhookID: the same on every attempt and redelivery,
// so receivers can drop a repeat, and different for every endpoint and
// event of the install.
func WebhookMessageID(webhookID, eventID int64) string {
	return "msg_" + strconv.FormatInt(webhookID, 10) + "_" + strconv.FormatInt(eventID, 10)
}

// EncodeAuditEvent is the body of a webhook delivery: the event as GET
// /v2/audit-events shows it, in the same encoding (no HTML escaping).
func EncodeAuditEvent(e AuditEvent) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.JSON()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses: waiting for its next attempt (or in one), answered
// with a 2xx, or given up on (a 410, or WebhookGiveUpAfter of failures).
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// ParseDeliveryStatus reads a status filter.
func ParseDeliveryStatus(field, s string) (DeliveryStatus, error) {
	switch st := DeliveryStatus(s); st {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed:
		return st, nil
	}
	return "", Errorf(CodeInvalid, "%s: must be pending, delivered or failed, not %q", field, clip(s))
}

// WebhookDelivery is one event on its way to one endpoint. An endpoint
// gets each event at most once, so the event's id (the account's own)
// names the delivery within its webhook.
type WebhookDelivery struct {
	WebhookID int64
	AccountID int64
	EventID   int64
	EventType string
	Status    DeliveryStatus
	// Attempts counts the attempts of the current run (a redelivery
	// starts a new run).
	Attempts  int
	CreatedAt time.Time
	// FirstAttemptAt is the first attempt of the current run: the
	// retry schedule counts from it.
	FirstAttemptAt *time.Time
	// NextAttemptAt is when the next attempt is due (pending only).
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	// LastStatus is the HTTP status of the last answer, 0 when there was
	// none (the connection failed).
	LastStatus  int
	LastError   string
	LastLatency time.Duration
	DeliveredAt *time.Time
}

// MessageID is d's webhook-id.
func (d WebhookDelivery) MessageID() string { return WebhookMessageID(d.WebhookID, d.EventID) }

// WebhookRetrySchedule is when a delivery is attempted, counted from its
// first attempt: at once, then 5 seconds, 5 minutes, 30 minutes, 2, 5, 10
// and 24 hours after it. When the attempt at 24 hours fails too, the
// delivery is given up and its endpoint disabled.
var WebhookRetrySchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 24 * time.Hour,
}

// WebhookGiveUpAfter is how long a delivery keeps failing before it is
// given up: the last step of WebhookRetrySchedule.
var WebhookGiveUpAfter = WebhookRetrySchedule[len(WebhookRetrySchedule)-1]

// minRetryGap is the least time between two attempts of a delivery, when
// the schedule's time has passed already (a server that was down).
const minRetryGap = 5 * time.Second

// NextWebhookAttempt is when a delivery whose run began at first and whose
// attempts-th attempt has just failed at now is tried again; giveUp is set
// when the schedule has run out.
func NextWebhookAttempt(first time.Time, attempts int, now time.Time) (next time.Time, giveUp bool) {
	if attempts >= len(WebhookRetrySchedule) {
		return time.Time{}, true
	}
	next = first.Add(WebhookRetrySchedule[attempts])
	if earliest := now.Add(minRetryGap); next.Before(earliest) {
		next = earliest
	}
	return next, false
}
