package httpapi

import (
	"fmt"
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// MaxUsagePoints bounds the points of one POST /v2/usage-metrics, so a
// batch fits the body cap and one transaction stays short.
const MaxUsagePoints = 5000

func (a *API) getUsage(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	q := r.URL.Query()
	var msgs []string
	one := func(name string) string {
		if len(q[name]) > 1 {
			msgs = append(msgs, fmt.Sprintf("%s: given %d times; give it once", name, len(q[name])))
		}
		return q.Get(name)
	}
	up := control.UsageParams{
		EntityType: one("entityType"), EntityID: one("entityId"),
		From: one("from"), To: one("to"), Metrics: one("metrics"),
	}
	if err := keyplane.Invalid(msgs...); err != nil {
		return err
	}
	m, err := a.svc.UsageMetrics(r.Context(), p, up)
	return respond(w, http.StatusOK, map[string]any{"metrics": m}, err)
}

func (a *API) reportUsage(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	data, err := body(w, r)
	if err != nil {
		return err
	}
	// Not decode: batches of thousands of points take the usage decoder's
	// fast path, with DecodeJSON's answers.
	points, err := keyplane.DecodeUsageBatch(data)
	if err != nil {
		return err
	}
	switch {
	case points == nil:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: required, a list of {keysetId or subscribeKey, date, metric, value}")
	case len(*points) == 0:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: empty; send at least one")
	case len(*points) > MaxUsagePoints:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: %d given; at most %d a request", len(*points), MaxUsagePoints)
	}
	n, err := a.svc.ReportUsage(r.Context(), p, *points)
	return respond(w, http.StatusOK, map[string]int{"accepted": n}, err)
}
