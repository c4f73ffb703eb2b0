package control

import (
	"context"
	"time"

	"github.com/keyplane/keyplane"
)

// KeyNoticeOf is a notice about a key, with the key and its integration.
type KeyNoticeOf struct {
	KeyOf
	Notice keyplane.KeyNotice
}

// Notifier is told of each key notice once its audit event is committed,
// beside the e-mail to the account's Owners and Admins that the Service
// sends itself where a Mailer is set: for whatever else should hear of
// it. A failure is logged; the notice is not given again.
type Notifier interface {
	KeyNotice(ctx context.Context, n KeyNoticeOf) error
}

// KeyNotices lists the notices the keys of p's account are due now (keys
// expiring within a notice threshold of the account's policy, keys unused
// for 30 days), whether or not the periodic job has recorded them yet:
// what the portal's banner and filters show.
func (s *Service) KeyNotices(ctx context.Context, p keyplane.Principal) (out []KeyNoticeOf, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadIntegrations); err != nil {
		return nil, err
	}
	now := s.clock()
	err = s.store.Read(ctx, func(tx Tx) error {
		pol, err := tx.AccountPolicy(p.AccountID)
		if err != nil {
			return err
		}
		ins, err := tx.Integrations(p.AccountID)
		if err != nil {
			return err
		}
		for _, in := range ins {
			keys, err := tx.APIKeys(in.ID)
			if err != nil {
				return err
			}
			for _, k := range keys {
				for _, n := range keyplane.DueNotices(pol, k, now) {
					out = append(out, KeyNoticeOf{KeyOf{k, in}, n})
				}
			}
		}
		return nil
	})
	return out, err
}

// GiveKeyNotices records every key notice that has come due, of every
// account, as an audit event (ApiKeyExpiryNotice, ApiKeyUnusedNotice) by
// the server itself, e-mails it to the account's Owners and Admins (with a
// Mailer), and tells the Notifier. Each notice is given once:
// its row is claimed in the same transaction as its event, so replicas
// running this together give each notice once between them. Only the
// operator (the server's own job) runs it; n is how many were given.
func (s *Service) GiveKeyNotices(ctx context.Context, p keyplane.Principal) (n int, err error) {
	if err := operatorOnly(p, 0, "gives key notices of"); err != nil {
		return 0, err
	}
	now := s.clock()
	var given []KeyNoticeOf
	err = s.store.Write(ctx, func(tx Tx) error {
		given = given[:0]
		keys, err := tx.ActiveAPIKeys(now)
		if err != nil {
			return err
		}
		policies := map[int64]keyplane.AccountPolicy{}
		for _, ko := range keys {
			acc := ko.Integration.AccountID
			pol, ok := policies[acc]
			if !ok {
				if pol, err = tx.AccountPolicy(acc); err != nil {
					return err
				}
				policies[acc] = pol
			}
			for _, notice := range keyplane.DueNotices(pol, ko.Key, now) {
				claimed, err := tx.ClaimKeyNotice(ko.Key.ID, notice, now)
				if err != nil {
					return err
				}
				if !claimed {
					continue
				}
				typ := keyplane.EventApiKeyExpiryNotice
				if notice.Kind == keyplane.NoticeUnused {
					typ = keyplane.EventApiKeyUnusedNotice
				}
				if err := s.record(tx, keyplane.SystemActor, acc, typ, "api-key", ko.Key.ID, nil, noticeView(ko, notice)); err != nil {
					return err
				}
				given = append(given, KeyNoticeOf{ko, notice})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, g := range given {
		s.mailKeyNotice(ctx, g)
	}
	if s.notifier != nil {
		for _, g := range given {
			if err := s.notifier.KeyNotice(ctx, g); err != nil {
				s.log.Warn("telling of a key notice", "keyId", g.Key.ID, "kind", g.Notice.Kind, "err", err)
			}
		}
	}
	return len(given), nil
}

func noticeView(ko KeyOf, n keyplane.KeyNotice) any {
	v := map[string]any{"id": ko.Key.ID, "integrationId": ko.Integration.ID, "integrationName": ko.Integration.Name,
		"prefix": ko.Key.Prefix, "expiresAt": keyplane.FormatTime(ko.Key.ExpiresAt), "thresholdDays": n.Threshold}
	switch n.Kind {
	case keyplane.NoticeExpiry:
		v["daysLeft"] = n.DaysLeft
	case keyplane.NoticeUnused:
		var used any
		if ko.Key.LastUsedAt != nil {
			used = keyplane.FormatTime(*ko.Key.LastUsedAt)
		}
		v["lastUsedAt"] = used
	}
	return v
}

// KeyNoticeEvery is how often a server looks for key notices that have
// come due: notices count days, so an hour is prompt enough.
const KeyNoticeEvery = time.Hour
