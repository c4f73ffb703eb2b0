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
		"/account": "/account", "": "/apps", "//evil.example": "/apps", "/\\evil.example": "/apps",
		"https://evil.example/": "/apps", "/apps?q=x": "/apps?q=x",
	} {
		if got := localNext(in); got != want {
			t.Errorf("localNext(%q) = %q, want %q", in, got, want)
		}
	}
}
