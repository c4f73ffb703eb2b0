package portal

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestClientAddressAndSchemeBehindAProxy(t *testing.T) {
	direct, proxied := &Portal{}, &Portal{proxy: true}
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "10.0.0.9:5555"
	r.Header.Add("X-Forwarded-For", "1.2.3.4, 203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	if got := direct.clientIP(r); got != "10.0.0.9" {
		t.Errorf("direct: %q, want the peer (forwarded headers are anyone's)", got)
	}
	if direct.secure(r) {
		t.Error("direct: X-Forwarded-Proto trusted")
	}
	if got := proxied.clientIP(r); got != "203.0.113.7" {
		t.Errorf("behind a proxy: %q, want the entry the proxy added", got)
	}
	if !proxied.secure(r) {
		t.Error("behind a proxy: https not seen")
	}
	r.Header.Del("X-Forwarded-For")
	r.Header.Del("X-Forwarded-Proto")
	if got := proxied.clientIP(r); got != "10.0.0.9" || proxied.secure(r) {
		t.Errorf("behind a proxy without headers: %q, secure %v", got, proxied.secure(r))
	}
	r.TLS = &tls.ConnectionState{}
	if !direct.secure(r) {
		t.Error("TLS not seen")
	}
}

func TestLocalNext(t *testing.T) {
	for in, want := range map[string]string{
		"/account": "/account", "": "/apps", "/apps?q=x": "/apps?q=x",
		"/keysets/3#config": "/keysets/3#config",
		"/%2F/evil.example": "/%2F/evil.example", // an escaped slash is a path segment: it stays here
		// What browsers read as another host or scheme, once they have
		// dropped tab, LF and CR and turned backslashes into slashes.
		"//evil.example":        "/apps",
		"///evil.example":       "/apps",
		"/\\evil.example":       "/apps",
		"\\/evil.example":       "/apps",
		"\\\\evil.example":      "/apps",
		"/\t/evil.example":      "/apps",
		"/\t\\evil.example":     "/apps",
		"/\n/evil.example":      "/apps",
		"/\r\n/evil.example":    "/apps",
		"\t//evil.example":      "/apps",
		" /evil.example":        "/apps",
		" //evil.example":       "/apps",
		"/\x00/evil.example":    "/apps",
		"/\x7f/evil.example":    "/apps",
		"https://evil.example/": "/apps",
		"http:evil.example":     "/apps",
		"javascript:alert(1)":   "/apps",
		"JavaScript:alert(1)":   "/apps",
		"evil.example":          "/apps",
		"/apps\\..\\..\\evil":   "/apps",
		"/apps\u00a0//evil":     "/apps",
	} {
		if got := localNext(in); got != want {
			t.Errorf("localNext(%q) = %q, want %q", in, got, want)
		}
	}
}
