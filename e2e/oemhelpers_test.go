package e2e

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/testdb"
)

// writableSQL opens the env's database for statements the API cannot make
// (a second account, tampering with stored rows).
func (e *env) writableSQL() *sql.DB {
	e.t.Helper()
	return testdb.OpenWritableSQL(e.t, e.dbPath)
}

// otherAccount makes a second account with an integration holding every
// row of apps and keysets, and returns the account id and the key.
func (e *env) otherAccount() (int64, string) {
	e.t.Helper()
	var id int64
	if err := e.writableSQL().QueryRow(`INSERT INTO accounts (name, created_at) VALUES ('Other', 0) RETURNING id`).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	_, key, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(id), "other CI",
		grants(e.t, fullGrants...), e.clock.Now().Add(24*time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	e.remember(key.Key)
	return id, key.Key
}

// setPartner enrols the env's account in the OEM programme (or ends it),
// as `keyplane admin set-partner` does.
func (e *env) setPartner(on bool) {
	e.t.Helper()
	if _, err := e.svc.SetPartner(context.Background(), keyplane.Operator(e.account), e.account, on); err != nil {
		e.t.Fatal(err)
	}
}

// otherAccountOEM makes another account, a partner, with a key holding the
// OEM Customer row, and returns the key and the account id.
func (e *env) otherAccountOEM() (string, int64) {
	e.t.Helper()
	var id int64
	if err := e.writableSQL().QueryRow(`INSERT INTO accounts (name, created_at) VALUES ('Other partner', 0) RETURNING id`).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.SetPartner(context.Background(), keyplane.Operator(id), id, true); err != nil {
		e.t.Fatal(err)
	}
	_, key, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(id), "other partner portal",
		grants(e.t, "account:oem-customer:rw"), e.clock.Now().Add(24*time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	e.remember(key.Key)
	return key.Key, id
}
