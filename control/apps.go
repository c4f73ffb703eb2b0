package control

import (
	"context"

	"github.com/keyplane/keyplane"
)

// visible decides what a list operation may show p, refusing outright when
// no row at any level gives the access the list needs.
func visible(p keyplane.Principal, op keyplane.Operation) (keyplane.Visibility, error) {
	v, ok := keyplane.Visible(p.Grants, op.Needs[0])
	if !ok {
		return v, keyplane.Authorize(p.Grants, keyplane.Target{}, op.Needs...)
	}
	return v, nil
}

// ListApps returns one page of the apps p may read, and how many there are.
func (s *Service) ListApps(ctx context.Context, p keyplane.Principal, page keyplane.Page) (apps []keyplane.App, total int, err error) {
	v, err := visible(p, keyplane.OpListApps)
	if err != nil {
		return nil, 0, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		apps, total, err = tx.ListApps(p.AccountID, v, page)
		return err
	})
	return apps, total, err
}

// CreateApp makes an app.
func (s *Service) CreateApp(ctx context.Context, p keyplane.Principal, name string) (keyplane.App, error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpCreateApp.Needs...); err != nil {
		return keyplane.App{}, err
	}
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
		return keyplane.App{}, err
	}
	now := s.clock()
	a := keyplane.App{AccountID: p.AccountID, Name: name, CreatedAt: now, UpdatedAt: now}
	err := s.store.Write(ctx, func(tx Tx) error {
		if err := tx.InsertApp(&a); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventAppCreated, "app", a.ID, nil, appView(a))
	})
	return a, err
}

// GetApp returns one app.
func (s *Service) GetApp(ctx context.Context, p keyplane.Principal, id int64) (a keyplane.App, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{AppID: id}, keyplane.OpGetApp.Needs...); err != nil {
		return a, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		a, err = tx.App(p.AccountID, id)
		return err
	})
	return a, err
}

// RenameApp changes an app's name, the only thing about an app that changes.
func (s *Service) RenameApp(ctx context.Context, p keyplane.Principal, id int64, name string) (a keyplane.App, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{AppID: id}, keyplane.OpUpdateApp.Needs...); err != nil {
		return a, err
	}
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
		return a, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if a, err = tx.App(p.AccountID, id); err != nil {
			return err
		}
		if a.Name == name {
			return nil
		}
		before := appView(a)
		a.Name, a.UpdatedAt = name, s.clock()
		if err := tx.UpdateApp(a); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventAppRenamed, "app", a.ID, before, appView(a))
	})
	return a, err
}

// DeleteApp deletes an app that holds no keysets. An app with keysets is
// refused rather than emptied: one wrong id must not take production
// keysets with it.
func (s *Service) DeleteApp(ctx context.Context, p keyplane.Principal, id int64) error {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{AppID: id}, keyplane.OpDeleteApp.Needs...); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		a, err := tx.App(p.AccountID, id)
		if err != nil {
			return err
		}
		n, err := tx.CountKeysets(id)
		if err != nil {
			return err
		}
		if n > 0 {
			// The count is not given: the caller may hold no Keyset rights.
			return keyplane.Errorf(keyplane.CodeConflict, "app %d still has keysets; delete them first", id)
		}
		if err := tx.DeleteApp(p.AccountID, id); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventAppDeleted, "app", id, appView(a), nil)
	})
}

func nonEmpty(msgs ...string) []string {
	out := msgs[:0]
	for _, m := range msgs {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}
