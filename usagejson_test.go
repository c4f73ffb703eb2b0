package keyplane

import (
	"fmt"
	"strings"
	"testing"
)

// The plain shape reporters send, nulls included, decodes without falling
// back to DecodeJSON (which allocates per field): a few allocations a batch
// of 100, a handful a line.
func TestUsageDecodersTakeTheFastPath(t *testing.T) {
	var pts []string
	for i := range 100 {
		pts = append(pts, fmt.Sprintf(`{"keysetId":%d,"subscribeKey":null,"date":"2026-11-%02d","metric":"publish","value":%d.5}`, i+1, i%28+1, i))
	}
	body := []byte(`{"points": [` + strings.Join(pts, ",\n") + `]}`)
	got, err := DecodeUsageBatch(body)
	if err != nil || got == nil || len(*got) != 100 || *(*got)[99].Value != 99.5 || int64(*(*got)[99].KeysetID) != 100 {
		t.Fatalf("DecodeUsageBatch: %v, %v", got, err)
	}
	// 100 dates, the slab, the slice, the pointer to it.
	if n := testing.AllocsPerRun(20, func() { DecodeUsageBatch(body) }); n > 110 {
		t.Errorf("DecodeUsageBatch of 100 points: %v allocations; the fast path makes about 104", n)
	}
	line := []byte(pts[7])
	if n := testing.AllocsPerRun(20, func() { DecodeUsageReport(line) }); n > 3 {
		t.Errorf("DecodeUsageReport: %v allocations; the fast path makes 2", n)
	}
}
