package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyplane/keyplane/store"
)

// The big databases of P3, P5 and P7 take minutes to seed (a million keysets),
// so it is cached between runs like the usage data set (in usageCacheDir),
// and each run works on a copy: serving it writes (a key's last use). The
// cache is keyed by the schema's version and by bigSeedFormat, so a new
// migration or a change of what seed writes seeds again, and the seeding
// figure is reported only by the run that seeded.

// bigSeedFormat changes whenever seed writes different data.
const bigSeedFormat = 1

// bigMeta is what a run needs of a cached database besides its file.
type bigMeta struct {
	Key     string `json:"key"`
	Keysets int    `json:"keysets"`
	Middle  int64  `json:"middleKeysetId"`
}

// bigCache names the cached database of shape sh, for the current schema.
func bigCache(sh shape) (string, error) {
	dir, err := usageCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, fmt.Sprintf("big-%s-schema%d-seed%d.db", sh, store.NewestSchema(), bigSeedFormat)), nil
}

// loadBig copies the cached database to db (and its key file to kek) and
// returns what seed returned when it made it; ok is false if there is no
// cached database.
func loadBig(cached, db, kek string) (s seeded, ok bool, err error) {
	raw, err := os.ReadFile(cached + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	var m bigMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return s, false, fmt.Errorf("%s.json: %w", cached, err)
	}
	if err := copyFile(cached, db); err != nil {
		return s, false, err
	}
	if err := copySecret(cached+".kek", kek); err != nil {
		return s, false, err
	}
	return seeded{dsn: db, kek: kek, key: m.Key, n: m.Keysets, middle: m.Middle}, true, nil
}

// saveBig keeps a copy of the seeded database s in the cache. The
// description is written last, so a copy cut short is never taken for a
// whole one. The seeded database is closed, so its WAL is empty.
func saveBig(s seeded, cached string) error {
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return err
	}
	if fi, err := os.Stat(s.dsn + "-wal"); err == nil && fi.Size() > 0 {
		return fmt.Errorf("%s-wal is not empty: the database is still open", s.dsn)
	}
	if err := copyFile(s.dsn, cached); err != nil {
		return err
	}
	if err := copySecret(s.kek, cached+".kek"); err != nil {
		return err
	}
	raw, err := json.Marshal(bigMeta{Key: s.key, Keysets: s.keysets(), Middle: s.keyset()})
	if err != nil {
		return err
	}
	return os.WriteFile(cached+".json", raw, 0o600)
}

// copySecret copies a key file, readable by its owner only.
func copySecret(from, to string) error {
	raw, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, raw, 0o600)
}
