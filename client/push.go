package client

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"path/filepath"
)

// form is a request body sent as it is, with its own Content-Type (a
// multipart upload), rather than encoded as JSON.
type form struct {
	contentType string
	body        []byte
}

// APNs is what a keyset holds of its Apple push credentials: the ids and
// the file's name, never the key.
type APNs struct {
	TeamID    string `json:"teamId"`
	AuthKeyID string `json:"authKeyId"`
	Filename  string `json:"filename"`
}

// FCM is what a keyset holds of its Firebase push credentials: the file's
// name, never its content.
type FCM struct {
	Filename string `json:"filename"`
}

// multipartForm encodes fields (name, value pairs) and a file part named
// "file" called filename.
func multipartForm(fields [][2]string, filename string, content []byte) (form, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return form{}, err
		}
	}
	fw, err := mw.CreateFormFile("file", filepath.Base(filename))
	if err != nil {
		return form{}, err
	}
	fw.Write(content)
	if err := mw.Close(); err != nil {
		return form{}, err
	}
	return form{mw.FormDataContentType(), b.Bytes()}, nil
}

// UploadAPNs stores a keyset's APNs token key — key is the .p8 file Apple
// gives, named filename (its folders are not sent) — with the team and
// key ids Apple shows beside it, and turns APNs on
// (POST /v2/keysets/{id}/config/apns).
func (c *Client) UploadAPNs(ctx context.Context, id, teamID, authKeyID, filename string, key []byte) (APNs, error) {
	f, err := multipartForm([][2]string{{"teamId", teamID}, {"authKeyId", authKeyID}}, filename, key)
	if err != nil {
		return APNs{}, err
	}
	var out APNs
	err = c.do(ctx, http.MethodPost, keysetPath(id)+"/config/apns", nil, f, &out)
	return out, err
}

// UploadFCM stores a keyset's FCM service-account file, named filename
// (POST /v2/keysets/{id}/config/fcm).
func (c *Client) UploadFCM(ctx context.Context, id, filename string, serviceAccount []byte) (FCM, error) {
	f, err := multipartForm(nil, filename, serviceAccount)
	if err != nil {
		return FCM{}, err
	}
	var out FCM
	err = c.do(ctx, http.MethodPost, keysetPath(id)+"/config/fcm", nil, f, &out)
	return out, err
}
