package clientaddr

import (
	"net/http/httptest"
	"testing"
)

func TestOf(t *testing.T) {
	for _, c := range []struct {
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"192.0.2.7:5000", nil, false, "192.0.2.7"},
		{"[2001:db8::1]:443", nil, false, "2001:db8::1"},
		{"[::ffff:192.0.2.9]:443", nil, false, "192.0.2.9"},
		{"192.0.2.7:5000", []string{"198.51.100.1"}, false, "192.0.2.7"},
		{"192.0.2.7:5000", []string{"203.0.113.5, 198.51.100.1"}, true, "198.51.100.1"},
		{"192.0.2.7:5000", []string{"203.0.113.5", "198.51.100.2"}, true, "198.51.100.2"},
		{"192.0.2.7:5000", []string{"not an address"}, true, "192.0.2.7"},
		{"mcp", nil, false, "invalid IP"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := Of(r, c.trust).String(); got != c.want {
			t.Errorf("Of(%s, %v, trust %v) = %s, want %s", c.remote, c.xff, c.trust, got, c.want)
		}
	}
}
