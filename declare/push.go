package declare

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/keyplane/keyplane"
)

// Push declares a keyset's push credentials by the files holding them,
// paths relative to the declaration file (read by File.ReadFiles). The
// server never answers a file back, so a plan compares what it can see:
// the ids and the file's name. A new key under the same file name is not
// seen; upload it with keyplane config upload-apns|upload-fcm, or give the
// file a new name.
type Push struct {
	APNs *APNsFile `yaml:"apns" json:"apns,omitempty"`
	FCM  *FCMFile  `yaml:"fcm" json:"fcm,omitempty"`
}

// APNsFile is a declared APNs token key: Apple's ids and the .p8 file.
type APNsFile struct {
	TeamID    string `yaml:"teamId" json:"teamId"`
	AuthKeyID string `yaml:"authKeyId" json:"authKeyId"`
	File      string `yaml:"file" json:"file"`
	content   []byte
}

// FCMFile is a declared FCM service-account file.
type FCMFile struct {
	File    string `yaml:"file" json:"file"`
	content []byte
}

func (a *APNsFile) upload() keyplane.APNsUpload {
	return keyplane.APNsUpload{TeamID: a.TeamID, AuthKeyID: a.AuthKeyID, Filename: filepath.Base(a.File), Key: a.content}
}

func (f *FCMFile) upload() keyplane.FCMUpload {
	return keyplane.FCMUpload{Filename: filepath.Base(f.File), ServiceAccount: f.content}
}

// ReadFiles reads the push credential files the declaration names, paths
// relative to dir (the declaration file's folder), and checks each as the
// server will, so that a missing or wrong file stops a plan before
// anything changes. Every problem is named.
func (f *File) ReadFiles(dir string) error {
	var problems []string
	read := func(at, name string) []byte {
		if name == "" {
			problems = append(problems, at+".file: required")
			return nil
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		fh, err := os.Open(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.file: %v", at, unwrapPath(err)))
			return nil
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, keyplane.MaxPushFileBytes+1))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.file: %v", at, unwrapPath(err)))
		}
		return b
	}
	check := func(at string, err error) {
		if err == nil {
			return
		}
		for _, m := range keyplane.ErrorMessages(err) {
			problems = append(problems, at+"."+m)
		}
	}
	for i := range f.Apps {
		for j := range f.Apps[i].Keysets {
			p := f.Apps[i].Keysets[j].Push
			if p == nil {
				continue
			}
			at := fmt.Sprintf("apps[%d].keysets[%d].push", i, j)
			if a := p.APNs; a != nil {
				if a.content = read(at+".apns", a.File); a.content != nil {
					check(at+".apns", a.upload().Validate())
				}
			}
			if c := p.FCM; c != nil {
				if c.content = read(at+".fcm", c.File); c.content != nil {
					check(at+".fcm", c.upload().Validate())
				}
			}
		}
	}
	if len(problems) > 0 {
		return &Problems{List: problems}
	}
	return nil
}

// unwrapPath is an os error without the Go operation's name ("open").
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
