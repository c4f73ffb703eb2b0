package client

import (
	"time"

	"github.com/keyplane/keyplane"
)

// Time is a time of an API answer. It is a time.Time (t.Time, or any of its
// methods, such as t.Before(u.Time)) that encodes as the API writes times:
// UTC, to the millisecond, "2006-01-02T15:04:05.000Z". An answer encoded
// again, as the CLI prints it with -o json or -o yaml and the MCP tools
// return it, so reads exactly as the server's own; time.Time would write
// nanoseconds and the zone. A nil *Time (a time the answer does not have,
// such as a main secret key's expiry) encodes as null.
type Time struct{ time.Time }

// MarshalText writes t as the API does (keyplane.FormatTime).
func (t Time) MarshalText() ([]byte, error) {
	return keyplane.AppendTime(make([]byte, 0, len("2006-01-02T15:04:05.000Z")), t.Time), nil
}

// MarshalJSON writes t as the API does, a JSON string. It is defined,
// though MarshalText would do, because time.Time's own MarshalJSON is
// promoted through the embedding and encoding/json would prefer it.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(`"2006-01-02T15:04:05.000Z"`))
	b = append(b, '"')
	b = keyplane.AppendTime(b, t.Time)
	return append(b, '"'), nil
}

// UnmarshalText reads an RFC 3339 time, the API's format among others.
func (t *Time) UnmarshalText(b []byte) error { return t.Time.UnmarshalText(b) }

// UnmarshalJSON reads an RFC 3339 time in a JSON string, as time.Time
// does; null leaves t as it is.
func (t *Time) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// String is t as the API writes it, for tables and messages; time.Time's
// own String would show nanoseconds and the zone.
func (t Time) String() string { return keyplane.FormatTime(t.Time) }
