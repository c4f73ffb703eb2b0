package portal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

// uploadPush answers the keyset page's upload forms (multipart, with
// their one-time token): the file goes through the same operation as
// POST /v2/keysets/{id}/config/{kind}; a refused one shows the page again
// with every problem under its form.
func (p *Portal) uploadPush(kind keyplane.PushKind) func(w http.ResponseWriter, r *http.Request, s *session) error {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseMultipartForm(maxFormBytes); err != nil {
			return keyplane.Errorf(keyplane.CodeInvalid, "file: the form could not be read; choose the file again and upload it")
		}
		name, content, err := uploadedFile(r)
		if err != nil {
			return err
		}
		done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			var err error
			if kind == keyplane.PushAPNs {
				_, err = p.svc.UploadAPNs(ctx, s.P, id, keyplane.APNsUpload{TeamID: strings.TrimSpace(r.PostForm.Get("teamId")),
					AuthKeyID: strings.TrimSpace(r.PostForm.Get("authKeyId")), Filename: name, Key: content})
			} else {
				_, err = p.svc.UploadFCM(ctx, s.P, id, keyplane.FCMUpload{Filename: name, ServiceAccount: content})
			}
			return "/keysets/" + strconv.FormatInt(id, 10) + "?done=uploaded#push", nil, err
		})
		if done {
			return nil
		}
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			return err
		}
		page, perr := p.keysetPage(r, s, id, keysetPage{Errors: map[string][]string{"push-" + string(kind): keyplane.ErrorMessages(err)}}, nil)
		if perr != nil {
			return perr
		}
		p.render(w, r, http.StatusBadRequest, "keyset", s, page.Keyset.Name, page)
		return nil
	}
}

// uploadedFile reads the form's file, its name without the folders some
// browsers send; none is an empty name and content, for the operation to
// refuse in its own words.
func uploadedFile(r *http.Request) (name string, content []byte, err error) {
	f, hdr, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, keyplane.Errorf(keyplane.CodeInvalid, "file: could not be read; choose it again")
	}
	defer f.Close()
	content, err = io.ReadAll(io.LimitReader(f, keyplane.MaxPushFileBytes+1))
	if err != nil {
		return "", nil, keyplane.Errorf(keyplane.CodeInvalid, "file: could not be read; choose it again")
	}
	return filepath.Base(strings.ReplaceAll(hdr.Filename, `\`, "/")), content, nil
}
