package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/store"
)

// allGrants is what the bench's Service Integration may do: everything at
// account level, so no request of a scenario is refused for lack of rights.
var allGrants = []string{
	"account:app:rw", "account:keyset:rw", "account:secret-key:rw", "account:usage:read",
}

// seeded is a database ready for a scenario. appIDs and keysetIDs are
// those of the key's account; a database from the cache (see bigcache.go)
// has none, only n and middle.
type seeded struct {
	dsn, kek  string
	key       string // API key of a Service Integration holding allGrants
	account   int64  // the key's account (not known of a cached database)
	appIDs    []int64
	keysetIDs []int64
	n         int   // keysets, of every account
	middle    int64 // a keyset in the middle of the key's account's
}

// keysets is how many keysets the database holds.
func (s seeded) keysets() int { return s.n }

// keyset is one in the middle of the data set.
func (s seeded) keyset() int64 { return s.middle }

// shape is how a seeded database is laid out: accounts accounts, each of
// apps apps of perApp keysets.
type shape struct{ accounts, apps, perApp int }

// oneAccount is the shape of a database of one account.
func oneAccount(apps, perApp int) shape { return shape{1, apps, perApp} }

func (sh shape) String() string {
	if sh.accounts == 1 {
		return fmt.Sprintf("%dx%d", sh.apps, sh.perApp)
	}
	return fmt.Sprintf("%dx%dx%d", sh.accounts, sh.apps, sh.perApp)
}

// seed makes the database dsn hold the keysets of sh, each with its
// configuration and a sealed secret key, and a Service Integration with an
// API key in the middle account. It writes straight through the store in
// large transactions — the same rows the API writes, without an audit
// event for each — so a million keysets take minutes, not hours. The
// accounts' apps are made in turns (every account's first app, then every
// account's second, …), as accounts that grow side by side leave them
// interleaved in the tables.
func seed(ctx context.Context, dsn, kek string, sh shape, progress func(done int)) (seeded, error) {
	db, err := store.Open(ctx, dsn, time.Now())
	if err != nil {
		return seeded{}, err
	}
	defer db.Close()
	if _, err := db.SealSecrets(ctx, kek); err != nil {
		return seeded{}, err
	}
	svc := control.New(db, control.Options{})
	existing, err := svc.Accounts(ctx)
	if err != nil {
		return seeded{}, err
	}
	now := time.Now()
	accounts := []int64{existing[0].ID}
	for first := 1; first < sh.accounts; first += 5000 {
		err := db.Write(ctx, func(tx control.Tx) error {
			for i := first; i < min(first+5000, sh.accounts); i++ {
				a := keyplane.Account{Name: fmt.Sprintf("Account %d", i+1), CreatedAt: now}
				if err := tx.InsertAccount(&a); err != nil {
					return err
				}
				accounts = append(accounts, a.ID)
			}
			return nil
		})
		if err != nil {
			return seeded{}, err
		}
	}
	mine := accounts[len(accounts)/2]
	var grants []keyplane.Grant
	for _, s := range allGrants {
		g, err := keyplane.ParseGrant(s)
		if err != nil {
			return seeded{}, err
		}
		grants = append(grants, g)
	}
	_, key, err := svc.CreateIntegration(ctx, keyplane.Operator(mine), "bench", grants, now.Add(30*24*time.Hour))
	if err != nil {
		return seeded{}, err
	}
	out := seeded{dsn: dsn, kek: kek, key: key.Key, account: mine}

	// Keys need randomness, not secrecy, here: a seeded generator is
	// faster than the system's and makes runs alike.
	rnd := rand.NewChaCha8([32]byte{'k', 'e', 'y', 'p', 'l', 'a', 'n', 'e'})
	cfg := keyplane.DefaultConfig()
	const perTx = 20000 // keysets per transaction
	appsPerTx := max(1, perTx/max(sh.perApp, 1))
	total := sh.accounts * sh.apps // apps in all, the i-th of account i % accounts
	for first := 0; first < total; first += appsPerTx {
		err := db.Write(ctx, func(tx control.Tx) error {
			for i := first; i < min(first+appsPerTx, total); i++ {
				account := accounts[i%len(accounts)]
				app := keyplane.App{AccountID: account, Name: fmt.Sprintf("App %d", i/len(accounts)+1), CreatedAt: now, UpdatedAt: now}
				if err := tx.InsertApp(&app); err != nil {
					return err
				}
				if account == mine {
					out.appIDs = append(out.appIDs, app.ID)
				}
				for k := range sh.perApp {
					ks := keyplane.Keyset{AccountID: account, AppID: app.ID, Name: fmt.Sprintf("Keyset %d", k+1),
						Type: keyplane.KeysetTesting, CreatedAt: now, UpdatedAt: now}
					if ks.PublishKey, ks.SubscribeKey, err = keyplane.NewPubSubKeys(rnd); err != nil {
						return err
					}
					if err := tx.InsertKeyset(&ks, cfg); err != nil {
						return err
					}
					sk := keyplane.SecretKey{KeysetID: ks.ID, CreatedAt: now}
					if sk.Secret, err = keyplane.NewSecretKey(rnd); err != nil {
						return err
					}
					if err := tx.InsertSecretKey(sk); err != nil {
						return err
					}
					if account == mine {
						out.keysetIDs = append(out.keysetIDs, ks.ID)
					}
					out.n++
				}
			}
			return nil
		})
		if err != nil {
			return seeded{}, err
		}
		if progress != nil {
			progress(out.keysets())
		}
	}
	if len(out.keysetIDs) > 0 {
		out.middle = out.keysetIDs[len(out.keysetIDs)/2]
	}
	return out, nil
}

// seedMain is `bench seed`: fills a database for use by hand.
//
//	bench seed --database FILE|URL [--apps 100000] [--keysets-per-app 10]
func seedMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	dsn := fs.String("database", "", "SQLite file or PostgreSQL URL (made if missing)")
	kek := fs.String("kek-file", "", "key-encryption key file (default: DATABASE.kek)")
	accounts := fs.Int("accounts", 1, "accounts to hold the apps (the first is the database's own)")
	apps := fs.Int("apps", 100000, "apps to create in each account")
	perApp := fs.Int("keysets-per-app", 10, "keysets in each app")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return fmt.Errorf("seed: --database is required")
	}
	if *kek == "" {
		*kek = *dsn + ".kek"
		if store.IsPostgres(*dsn) {
			*kek = "keyplane.kek"
		}
	}
	start := time.Now()
	s, err := seed(ctx, *dsn, *kek, shape{*accounts, *apps, *perApp}, func(done int) {
		fmt.Fprintf(os.Stderr, "\rseeded %d keysets (%.0f/s)", done, float64(done)/time.Since(start).Seconds())
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d keysets in %d accounts in %s; API key of the middle account (%d apps) with %v:\n",
		s.keysets(), *accounts, time.Since(start).Round(time.Second), len(s.appIDs), allGrants)
	fmt.Println(s.key)
	return nil
}
