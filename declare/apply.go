package declare

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/client"
)

// Secret is the secret key of a keyset an apply created: shown once.
type Secret struct {
	App       string `json:"app"`
	Keyset    string `json:"keyset"`
	KeysetID  string `json:"keysetId"`
	SecretKey string `json:"secretKey"`
}

// Apply carries out the plan's changes in order through c. done is told of
// each change once it is made (with the ids of what it created), and secret
// of each secret key a created keyset got, as soon as it exists, so that it
// is never lost to a later failure.
//
// Apply stops at the first change the server refuses and returns its error;
// the changes made before it stay. Making a plan again and applying it
// finishes the work, since a plan only holds what is still missing.
func (p *Plan) Apply(ctx context.Context, c *client.Client, done func(Change), secret func(Secret) error) error {
	appIDs := map[string]string{}       // apps created here, by name
	keysetIDs := map[KeysetRef]string{} // keysets created here
	// resolve finds the ids of keysets named by app and name: those made
	// here, else the account's, read once (the apps and keysets this apply
	// made or deleted are accounted for by then, as customers come after
	// every create and before every delete).
	var account map[KeysetRef]string
	resolve := func(refs []KeysetRef) ([]string, error) {
		if account == nil {
			account = map[KeysetRef]string{}
			names := map[string]string{}
			for a, err := range c.Apps(ctx) {
				if err != nil {
					return nil, err
				}
				names[a.ID] = a.Name
			}
			for k, err := range c.Keysets(ctx) {
				if err != nil {
					return nil, err
				}
				account[KeysetRef{names[k.AppID], k.Name}] = k.ID
			}
		}
		var ids []string
		for _, r := range refs {
			id, ok := keysetIDs[r]
			if !ok {
				id, ok = account[r]
			}
			if !ok {
				return nil, fmt.Errorf("keyset %s: not found", r)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	for _, ch := range p.Changes {
		var err error
		switch {
		case ch.Kind == KindApp && ch.Action == Create:
			var a client.App
			if a, err = c.CreateApp(ctx, ch.App); err == nil {
				ch.AppID, appIDs[ch.App] = a.ID, a.ID
			}
		case ch.Kind == KindApp && ch.Action == Delete:
			err = c.DeleteApp(ctx, ch.AppID)
		case ch.Kind == KindKeyset && ch.Action == Create:
			if ch.AppID == "" {
				ch.AppID = appIDs[ch.App]
			}
			nk := client.NewKeyset{AppID: ch.AppID, Name: ch.spec.Name, Type: ch.spec.Type}
			if ch.spec.Config != nil {
				nk.Config = ch.spec.Config
			}
			var k client.CreatedKeyset
			if k, err = c.CreateKeyset(ctx, nk); err == nil {
				ch.KeysetID = k.Keyset.ID
				keysetIDs[KeysetRef{ch.App, ch.Keyset}] = k.Keyset.ID
				for _, s := range k.SecretKeys {
					if serr := secret(Secret{App: ch.App, Keyset: ch.Keyset, KeysetID: k.Keyset.ID, SecretKey: s.SecretKey}); serr != nil {
						return fmt.Errorf("keyset %q of app %q was created (id %s), but its secret key could not be saved: %w", ch.Keyset, ch.App, k.Keyset.ID, serr)
					}
				}
				err = uploadPush(ctx, c, ch.KeysetID, ch.push)
			}
		case ch.Kind == KindKeyset && ch.Action == Update:
			if ch.typ != "" {
				_, err = c.UpdateKeyset(ctx, ch.KeysetID, client.KeysetUpdate{Type: &ch.typ})
			}
			if err == nil && ch.patch != nil {
				_, err = c.UpdateConfig(ctx, ch.KeysetID, ch.patch)
			}
			if err == nil {
				err = uploadPush(ctx, c, ch.KeysetID, ch.push)
			}
		case ch.Kind == KindKeyset && ch.Action == Delete:
			err = c.DeleteKeyset(ctx, ch.KeysetID)
		case ch.Kind == KindCustomer:
			var ids []string
			if len(ch.assign) > 0 {
				ids, err = resolve(ch.assign)
			}
			switch {
			case err != nil:
			case ch.Action == Create:
				var cu client.Customer
				if cu, err = c.CreateCustomer(ctx, client.NewCustomer{ExternalID: ch.Customer, Name: ch.name, KeysetIDs: ids}); err == nil {
					ch.CustomerID = cu.ID
				}
			default:
				if ch.name != "" {
					_, err = c.RenameCustomer(ctx, ch.CustomerID, ch.name)
				}
				if err == nil && len(ids) > 0 {
					_, err = c.AssignCustomerKeysets(ctx, ch.CustomerID, ids...)
				}
			}
		default:
			err = fmt.Errorf("unknown change %s %s", ch.Action, ch.Kind)
		}
		if err != nil {
			return &StepError{Change: ch, Err: err}
		}
		done(ch)
	}
	return nil
}

// StepError is the refusal of one change of an apply.
type StepError struct {
	Change Change
	Err    error
}

// Error names the change and repeats the server's answer.
func (e *StepError) Error() string {
	return fmt.Sprintf("%s: %v", Describe(e.Change), e.Err)
}

// Unwrap returns the server's answer, a *client.Error when it refused.
func (e *StepError) Unwrap() error { return e.Err }

// Describe names a change for people: `create keyset "prod" in app "Chat"`.
func Describe(ch Change) string {
	switch {
	case ch.Kind == KindCustomer:
		s := fmt.Sprintf("%s customer %q", ch.Action, ch.Customer)
		if ch.CustomerID != "" {
			s += " (" + ch.CustomerID + ")"
		}
		return s
	case ch.Kind == KindApp:
		s := fmt.Sprintf("%s app %q", ch.Action, ch.App)
		if ch.AppID != "" {
			s += " (" + ch.AppID + ")"
		}
		return s
	default:
		s := fmt.Sprintf("%s keyset %q", ch.Action, ch.Keyset)
		if ch.KeysetID != "" {
			s += " (" + ch.KeysetID + ")"
		}
		prep := "of"
		if ch.Action == Create {
			prep = "in"
		}
		return s + fmt.Sprintf(" %s app %q", prep, ch.App)
	}
}

// uploadPush uploads the push credentials a change holds to keyset id:
// APNs first, then FCM.
func uploadPush(ctx context.Context, c *client.Client, id string, p Push) error {
	if a := p.APNs; a != nil {
		u := a.upload()
		if _, err := c.UploadAPNs(ctx, id, u.TeamID, u.AuthKeyID, u.Filename, u.Key); err != nil {
			return err
		}
	}
	if f := p.FCM; f != nil {
		u := f.upload()
		if _, err := c.UploadFCM(ctx, id, u.Filename, u.ServiceAccount); err != nil {
			return err
		}
	}
	return nil
}
