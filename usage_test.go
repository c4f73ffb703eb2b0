package keyplane

import "testing"

func TestSumsOverDays(t *testing.T) {
	for name, want := range map[string]bool{
		"publish": true, "txn_total": true, "uuid": true,
		"mtd_txn_total": false, "mtd_uuid": false, "message_ratio": false,
		"publish_msg_average_size": false, "mtd_txn_mtd_uuid_ratio": false, "bytes_stored_files": false,
	} {
		if got := SumsOverDays(name); got != want {
			t.Errorf("SumsOverDays(%q) = %v, want %v", name, got, want)
		}
	}
}
