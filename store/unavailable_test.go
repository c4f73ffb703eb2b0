package store

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyplane/keyplane"
)

func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want keyplane.Code
	}{
		{&pgconn.PgError{Code: "08006"}, keyplane.CodeUnavailable},                          // connection failure
		{&pgconn.PgError{Code: "57P01"}, keyplane.CodeUnavailable},                          // admin shutdown
		{fmt.Errorf("query: %w", &pgconn.PgError{Code: "57P03"}), keyplane.CodeUnavailable}, // cannot connect now
		{driver.ErrBadConn, keyplane.CodeUnavailable},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, keyplane.CodeUnavailable},
		{io.ErrUnexpectedEOF, keyplane.CodeUnavailable},
		{&pgconn.PgError{Code: "23505"}, keyplane.CodeInternal}, // a unique violation is a bug, not an outage
		{errors.New("boom"), keyplane.CodeInternal},
		{keyplane.Errorf(keyplane.CodeNotFound, "app 1: not found"), keyplane.CodeNotFound},
	} {
		got := unavailable(c.err)
		if keyplane.ErrorCode(got) != c.want {
			t.Errorf("unavailable(%v): code %s, want %s", c.err, keyplane.ErrorCode(got), c.want)
		}
		if c.want == keyplane.CodeUnavailable && !errors.Is(got, c.err) {
			t.Errorf("unavailable(%v) lost its cause", c.err)
		}
	}
	if unavailable(nil) != nil {
		t.Error("unavailable(nil) != nil")
	}
}
