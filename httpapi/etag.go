package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane/control"
)

// A keyset and its configuration share one strong ETag, made of the
// keyset's id and version: any change of the name, type or configuration
// changes it. Clients treat it as opaque.

func etag(keysetID, version int64) string {
	return `"ks` + strconv.FormatInt(keysetID, 10) + "v" + strconv.FormatInt(version, 10) + `"`
}

// setETag sends the ETag of a keyset's version.
func setETag(w http.ResponseWriter, keysetID, version int64) {
	w.Header().Set("ETag", etag(keysetID, version))
}

// ifMatch reads If-Match for keyset id: no header, or "*" (the keyset
// exists, which the update checks anyway), is no condition. Otherwise the
// versions the listed ETags name; weak ETags, ETags of another keyset and
// anything malformed name none, so they never match (a 412), as strong
// comparison asks.
func ifMatch(r *http.Request, keysetID int64) control.Precondition {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return control.Unconditional
	}
	var versions []int64
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return control.Unconditional
			}
			if v, ok := parseETag(tag, keysetID); ok {
				versions = append(versions, v)
			}
		}
	}
	return control.IfMatch(versions...)
}

func parseETag(tag string, keysetID int64) (int64, bool) {
	inner, ok := strings.CutPrefix(tag, `"ks`+strconv.FormatInt(keysetID, 10)+"v")
	if !ok || !strings.HasSuffix(inner, `"`) {
		return 0, false
	}
	return parseID(strings.TrimSuffix(inner, `"`))
}
