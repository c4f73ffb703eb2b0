package keyplane

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Origin is where a request comes from: the client's address, as the
// server derives it (the peer, or behind a trusted proxy the address the
// proxy saw), and its User-Agent. Authentication checks an integration's
// networks against Addr and records both as the key's last use.
type Origin struct {
	Addr      netip.Addr // invalid when unknown
	UserAgent string
}

// MaxNetworks bounds the networks an integration may be allowed from: a
// list longer than this is better served by a proxy in front.
const MaxNetworks = 100

// maxUserAgent bounds the User-Agent kept as a key's last use: enough for
// any real client, and no way to store a large header per key.
const maxUserAgent = 256

// ClipUserAgent is the part of a User-Agent that is kept: at most
// maxUserAgent bytes of valid UTF-8, control characters dropped.
func ClipUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "")
	ua = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, ua)
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	return ua
}

// ParseNetworks reads the allowed client networks of an integration: each
// a CIDR (10.0.0.0/8, 2001:db8::/32) or a single address (taken as /32 or
// /128). Host bits set below the prefix are refused, since 10.1.2.3/8
// most likely means something other than 10.0.0.0/8. Repeats are dropped;
// the order is kept. field names the input in messages ("allowCidr").
func ParseNetworks(field string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var msgs []string
	for i, s := range ss {
		s = strings.TrimSpace(s)
		name := fmt.Sprintf("%s[%d]", field, i)
		if s == "" {
			continue
		}
		p, err := parseNetwork(s)
		if err != nil {
			msgs = append(msgs, name+": "+err.Error())
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) > MaxNetworks {
		msgs = append(msgs, fmt.Sprintf("%s: at most %d networks", field, MaxNetworks))
	}
	if err := Invalid(msgs...); err != nil {
		return nil, err
	}
	return out, nil
}

func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 network (want a CIDR such as 203.0.113.0/24 or 2001:db8::/32, or one address)", clip(s))
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 network (want a CIDR such as 203.0.113.0/24 or 2001:db8::/32, or one address)", clip(s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its /%d; did you mean %s?", s, p.Bits(), p.Masked())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8: keep it in the form addresses
		// are compared in.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// FormatNetworks writes networks as the lists show them: "10.0.0.0/8, 2001:db8::/32".
func FormatNetworks(ns []netip.Prefix) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, ", ")
}

// AllowedFrom tells whether a key of in may be used from addr: always when
// in names no networks, else only from an address inside one of them.
func (in Integration) AllowedFrom(addr netip.Addr) bool {
	if len(in.Networks) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, n := range in.Networks {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// NotAllowedFromError is the refusal of a key used from outside its
// integration's networks. It names the address the server saw, so whoever
// holds the key can tell a proxy's address from their own.
func NotAllowedFromError(addr netip.Addr) *Error {
	shown := "an unknown address"
	if addr.IsValid() {
		shown = addr.Unmap().String()
	}
	return Errorf(CodeForbidden, "this integration's keys are not allowed from %s", shown)
}

// IntegrationSuspendedError is the refusal of a key of a suspended
// integration.
func IntegrationSuspendedError(id int64) *Error {
	return Errorf(CodeForbidden, "integration suspended: Service Integration %d is suspended, and its API keys are refused until an Owner or Admin resumes it", id)
}
