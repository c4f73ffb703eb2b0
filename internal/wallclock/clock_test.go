package wallclock

import (
	"testing"
	"time"
)

func TestNowFollowsTheOffset(t *testing.T) {
	before := time.Now().Add(offset)
	got := Now()
	after := time.Now().Add(offset)
	if got.Before(before) || got.After(after) {
		t.Errorf("Now() = %v, want between %v and %v (offset %v)", got, before, after, offset)
	}
}
