package control

import (
	"context"
	"encoding/json"

	"github.com/keyplane/keyplane"
)

// UploadAPNs stores a keyset's APNs token key, sealed, replacing any before
// it, and turns APNs on with the upload's ids and file name; it answers the
// configuration's APNs section, which never holds the key. A refused
// upload changes nothing.
func (s *Service) UploadAPNs(ctx context.Context, p keyplane.Principal, keysetID int64, u keyplane.APNsUpload) (keyplane.APNs, error) {
	c, err := s.uploadPush(ctx, p, keysetID, keyplane.OpUploadAPNs, keyplane.PushAPNs, u.Validate(), u.Key, u.Patch(),
		map[string]any{"kind": keyplane.PushAPNs, "teamId": u.TeamID, "authKeyId": u.AuthKeyID, "filename": u.Filename})
	return c.APNs, err
}

// UploadFCM stores a keyset's FCM service-account file, sealed, replacing
// any before it, and names it in the configuration's FCM section, which it
// answers.
func (s *Service) UploadFCM(ctx context.Context, p keyplane.Principal, keysetID int64, u keyplane.FCMUpload) (keyplane.FCM, error) {
	c, err := s.uploadPush(ctx, p, keysetID, keyplane.OpUploadFCM, keyplane.PushFCM, u.Validate(), u.ServiceAccount, u.Patch(),
		map[string]any{"kind": keyplane.PushFCM, "filename": u.Filename})
	return c.FCM, err
}

// uploadPush is what both uploads do, once the upload is checked (invalid
// is its verdict): authorize as op on the keyset, store content sealed,
// change the configuration by patch, and audit the upload by what it
// names (never its content) whether or not the configuration changed, as
// a new file under the same name replaces the key.
func (s *Service) uploadPush(ctx context.Context, p keyplane.Principal, keysetID int64, op keyplane.Operation, kind keyplane.PushKind,
	invalid error, content []byte, patch keyplane.ConfigPatch, view map[string]any) (c keyplane.Config, err error) {
	if invalid != nil {
		return c, invalid
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := keyset(tx, p, keysetID, op); err != nil {
			return err
		}
		old, err := tx.Config(keysetID)
		if err != nil {
			return err
		}
		if c, err = old.Apply(patch); err != nil {
			return err
		}
		if err := tx.SetPushCredential(keysetID, kind, content, now); err != nil {
			return err
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := tx.UpdateConfig(keysetID, raw, now); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventPushCredentialsUploaded, "keyset", keysetID, nil, view)
	})
	return c, err
}
