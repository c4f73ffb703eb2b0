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

// Every metric with a human name is one the API knows, and any other is
// named from its id.
func TestMetricLabel(t *testing.T) {
	for name := range metricLabels {
		if _, ok := Metric(name); !ok {
			t.Errorf("a label for %q, which is no metric", name)
		}
	}
	for name, want := range map[string]string{"subscribe_msgs": "Messages delivered", "mtd_uuid": "Monthly active users", "presence_leave_transactions": "Presence leave transactions"} {
		if got := MetricLabel(name); got != want {
			t.Errorf("MetricLabel(%q) = %q, want %q", name, got, want)
		}
	}
}
