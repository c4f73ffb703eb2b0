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

// usageBody is the body of POST /v2/usage-metrics.
type usageBody struct {
	Points *[]keyplane.UsageReport `json:"points"`
}

func (a *API) reportUsage(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b usageBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	switch {
	case b.Points == nil:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: required, a list of {keysetId or subscribeKey, date, metric, value}")
	case len(*b.Points) == 0:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: empty; send at least one")
	case len(*b.Points) > MaxUsagePoints:
		return keyplane.Errorf(keyplane.CodeInvalid, "points: %d given; at most %d a request", len(*b.Points), MaxUsagePoints)
	}
	n, err := a.svc.ReportUsage(r.Context(), p, *b.Points)
	return respond(w, http.StatusOK, map[string]int{"accepted": n}, err)
}
