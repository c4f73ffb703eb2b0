package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/keyplane/keyplane"
)

// The push credential uploads take multipart/form-data, as a file upload
// from a browser or `curl -F` sends it: the file in the part "file" (its
// file name is what the configuration shows), APNs's ids in the parts
// "teamId" and "authKeyId". PubNub documents neither the encoding nor the
// names; the README's Compatibility section records this choice.

// uploadParts reads the parts of a push upload, allowing only the fields
// named (and "file"), each once: a misspelled field is refused, never
// ignored.
func uploadParts(w http.ResponseWriter, r *http.Request, fields ...string) (values map[string]string, filename string, file []byte, err error) {
	mt, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, "", nil, keyplane.Errorf(keyplane.CodeUnsupportedMediaType,
			"Content-Type: send multipart/form-data with the file in the field \"file\" (curl -F file=@NAME)")
	}
	data, err := rawBody(w, r)
	if err != nil {
		return nil, "", nil, err
	}
	values = map[string]string{}
	seen := map[string]bool{}
	mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	var msgs []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", nil, keyplane.Errorf(keyplane.CodeInvalid, "body: not a well-formed multipart/form-data body")
		}
		name := part.FormName()
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, "", nil, keyplane.Errorf(keyplane.CodeInvalid, "body: not a well-formed multipart/form-data body")
		}
		switch {
		case seen[name]:
			msgs = append(msgs, name+": give it once")
		case name == "file":
			// The name as the sender's system had it, without its folders.
			filename, file = path.Base(strings.ReplaceAll(part.FileName(), `\`, "/")), content
			if part.FileName() == "" {
				filename = ""
			}
		case slices.Contains(fields, name):
			values[name] = strings.TrimSpace(string(content))
		default:
			msgs = append(msgs, clip(name)+": not a field of this upload (fields: "+strings.Join(append(fields, "file"), ", ")+")")
		}
		seen[name] = true
	}
	return values, filename, file, keyplane.Invalid(msgs...)
}

func (a *API) uploadAPNs(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	v, name, file, err := uploadParts(w, r, "teamId", "authKeyId")
	if err != nil {
		return err
	}
	s, err := a.svc.UploadAPNs(r.Context(), p, id, keyplane.APNsUpload{TeamID: v["teamId"], AuthKeyID: v["authKeyId"], Filename: name, Key: file})
	return respond(w, http.StatusOK, map[string]any{"teamId": s.TeamID, "authKeyId": s.AuthKeyID, "filename": s.Filename}, err)
}

func (a *API) uploadFCM(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	_, name, file, err := uploadParts(w, r)
	if err != nil {
		return err
	}
	s, err := a.svc.UploadFCM(r.Context(), p, id, keyplane.FCMUpload{Filename: name, ServiceAccount: file})
	return respond(w, http.StatusOK, map[string]any{"filename": s.Filename}, err)
}
