package portal

import "testing"

// A value axis ends at the first round number at or above the busiest
// day, in steps of 1, 2 or 5 times a power of ten.
func TestRoundTicks(t *testing.T) {
	for _, c := range []struct{ peak, step, top float64 }{
		{0, 1, 1}, {1, 0.5, 1}, {3, 1, 3}, {7, 2, 8}, {10, 5, 10}, {23118, 10000, 30000},
		{393100, 100000, 400000}, {1234567, 500000, 1500000}, {0.3, 0.1, 0.3},
	} {
		if step, top := roundTicks(c.peak); step != c.step || top != c.top {
			t.Errorf("roundTicks(%v) = %v, %v; want %v, %v", c.peak, step, top, c.step, c.top)
		}
	}
	for v, want := range map[float64]string{0: "0", 500: "500", 1500: "1.5K", 2e6: "2M", 0.30000000000000004: "0.3", 2.5e9: "2.5B"} {
		if got := compact(v); got != want {
			t.Errorf("compact(%v) = %q, want %q", v, got, want)
		}
	}
	if dateStep(7) != 1 || dateStep(30) != 7 || dateStep(365) != 46 {
		t.Errorf("dateStep: %d %d %d", dateStep(7), dateStep(30), dateStep(365))
	}
}
