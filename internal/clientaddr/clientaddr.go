// Package clientaddr derives the address a request comes from, the one
// rule every surface (the API, MCP, the portal) follows: the peer's
// address, or, behind a reverse proxy the operator trusts (serve
// --trust-proxy), the address that proxy saw, which it puts last in
// X-Forwarded-For. Without trust the header is ignored: any client can
// send it.
package clientaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Of is the client address of r, invalid when it cannot be told.
func Of(r *http.Request, trustProxy bool) netip.Addr {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap().WithZone("")
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
