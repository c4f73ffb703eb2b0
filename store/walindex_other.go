//go:build !unix

package store

import "errors"

// walIndex is unavailable here: every version check reads data_version.
type walIndex struct{}

type walHeader [6]uint64

func openWALIndex(string) (*walIndex, error) {
	return nil, errors.New("WAL index mapping not supported on this system")
}

func (*walIndex) header() (walHeader, bool) { return walHeader{}, false }

func (*walIndex) close() {}
