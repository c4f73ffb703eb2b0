package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/client"
)

// contractTransport sends the Go client's requests to the env's server and
// checks every answer as e.do checks its own (contract, error body,
// PubNub-Version), noting which operations were called.
type contractTransport struct {
	e *env

	mu   sync.Mutex
	seen map[string]bool // "METHOD /path/pattern"
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.e.client.Transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	path := req.URL.Path
	if req.URL.RawQuery != "" {
		path += "?" + req.URL.RawQuery
	}
	c.e.check(&resp{t: c.e.t, method: req.Method, path: path, Status: res.StatusCode, Header: res.Header, Body: data}, req.Header.Get("PubNub-Version"))
	for _, s := range secretKeyRE.FindAllString(string(data), -1) {
		c.e.remember(s)
	}
	for _, o := range operations {
		if o.method == req.Method && o.path.MatchString(req.URL.Path) {
			c.mu.Lock()
			c.seen[o.method+" "+o.path.String()] = true
			c.mu.Unlock()
		}
	}
	return res, nil
}

// The public Go client against the server: every operation, each answer
// valid by the contract, and the client's view of it right.
func TestGoClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := &contractTransport{e: e, seen: map[string]bool{}}
	c, err := client.New(e.base, e.key, client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}), client.WithPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	app, err := c.CreateApp(ctx, "Telemedicine")
	must(err)
	got, err := c.GetApp(ctx, app.ID)
	must(err)
	if got != app {
		t.Errorf("GetApp = %+v, want %+v", got, app)
	}
	app, err = c.RenameApp(ctx, app.ID, "Telehealth")
	must(err)
	var ids []string
	for i := range 3 {
		k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "k" + string(rune('0'+i))})
		must(err)
		if len(k.SecretKeys) != 1 || !strings.HasPrefix(k.SecretKeys[0].SecretKey, "sec-c-") {
			t.Errorf("CreateKeyset secret keys %+v", k.SecretKeys)
		}
		ids = append(ids, k.Keyset.ID)
	}
	var walked []string
	for k, err := range c.Keysets(ctx) {
		must(err)
		walked = append(walked, k.ID)
	}
	if !slices.Equal(walked, ids) {
		t.Errorf("Keysets walked %v, want %v", walked, ids)
	}
	n := 0
	for _, err := range c.Apps(ctx) {
		must(err)
		n++
	}
	if n != 1 {
		t.Errorf("Apps walked %d apps, want 1", n)
	}
	page, err := c.ListApps(ctx, client.ListOptions{Page: 1, Limit: 5})
	must(err)
	if page.Total != 1 || page.Limit != 5 {
		t.Errorf("ListApps = %+v", page)
	}
	kp, err := c.ListKeysets(ctx, client.ListOptions{Page: 2, Limit: 2})
	must(err)
	if kp.Total != 3 || len(kp.Keysets) != 1 || kp.Keysets[0].ID != ids[2] {
		t.Errorf("ListKeysets page 2 = %+v", kp)
	}

	ks := ids[0]
	k, err := c.GetKeyset(ctx, ks)
	must(err)
	k2, err := c.UpdateKeyset(ctx, ks, client.KeysetUpdate{Type: ptr("production")})
	must(err)
	if k2.Type != "production" || k2.Name != k.Name {
		t.Errorf("UpdateKeyset = %+v", k2)
	}
	_, err = c.GetConfig(ctx, ks)
	must(err)
	cfg, err := c.UpdateConfig(ctx, ks, map[string]any{"appContext": map[string]any{"enabled": true, "region": "aws-iad-1"}})
	must(err)
	if !cfg.AppContext.Enabled || cfg.AppContext.Region == nil || *cfg.AppContext.Region != "aws-iad-1" {
		t.Errorf("UpdateConfig = %+v", cfg.AppContext)
	}
	old, err := c.ListSecretKeys(ctx, ks, true)
	must(err)
	exp := e.clock.Now().Add(time.Hour)
	_, err = c.RotateSecretKey(ctx, ks, &exp)
	must(err)
	_, err = c.UpdateSecretKeyExpiry(ctx, ks, old[0].Prefix(), exp.Add(time.Hour))
	must(err)
	must(c.DeleteSecretKey(ctx, ks, old[0].SecretKey))

	// Usage: a reporter's key sends, a reader's key asks.
	reporterKey, _, _ := e.integration("reporter", "account:usage-report:write")
	readerKey, _, _ := e.integration("reader", "account:usage:read")
	reporter, err := client.New(e.base, reporterKey, client.WithHTTPClient(&http.Client{Transport: tr}))
	must(err)
	reader, err := client.New(e.base, readerKey, client.WithHTTPClient(&http.Client{Transport: tr}))
	must(err)
	day := e.clock.Now().UTC().AddDate(0, 0, -1)
	stored, err := reporter.ReportUsage(ctx, []client.UsagePoint{
		{KeysetID: ks, Date: day.Format(time.DateOnly), Metric: "publish", Value: 42},
		{KeysetID: ids[1], Date: day.Format(time.DateOnly), Metric: "publish", Value: 8},
	})
	must(err)
	usage, err := reader.UsageMetrics(ctx, client.UsageQuery{EntityType: "app", EntityID: app.ID, From: day, To: day.AddDate(0, 0, 1), Metrics: []string{"publish"}})
	must(err)
	if stored != 2 || usage["publish"][day.Format(time.DateOnly)] != 50 {
		t.Errorf("ReportUsage stored %d; UsageMetrics = %v, want 50 published", stored, usage)
	}
	_, err = reader.UsageMetrics(ctx, client.UsageQuery{EntityType: "app", EntityID: app.ID, From: day, To: day.AddDate(0, 0, 1), Metrics: []string{"nope"}})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Name != "Bad Request" || ce.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown metric: %#v, want PubNub's 400 \"Bad Request\"", err)
	}

	// Who am I, and may I: any key asks about itself.
	me, err := c.Me(ctx)
	must(err)
	if me.Integration.ID != idOf(e.admin.ID) || len(me.Permissions) != len(fullGrants) || me.Access.Account["keyset"] != "read-write" {
		t.Errorf("Me = %+v", me)
	}
	ans, err := c.CheckAuthz(ctx, "updateKeysetConfig", client.AuthzTarget{KeysetID: ks})
	must(err)
	if !ans.Allowed || ans.Target.AppID != app.ID || ans.Checks[0].GrantedBy == nil || ans.Checks[0].GrantedBy.Grant != "account:keyset:read-write" {
		t.Errorf("CheckAuthz = %+v", ans)
	}
	ans, err = c.CheckAuthzRequest(ctx, "GET", "/v2/audit-events")
	must(err)
	if ans.Allowed || ans.Checks[0].Missing == nil || ans.Checks[0].Missing.Label != "Account · Audit log · Read" {
		t.Errorf("CheckAuthzRequest(GET /v2/audit-events) = %+v", ans)
	}

	// OEM customers, in a partner account.
	e.setPartner(true)
	oemKey, _, _ := e.integration("partner portal", "account:oem-customer:rw", "account:audit-log:read")
	oem, err := client.New(e.base, oemKey, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithPageSize(2))
	must(err)
	cu, err := oem.CreateCustomer(ctx, client.NewCustomer{ExternalID: "acme", Name: "Acme", KeysetIDs: []string{ids[0]}})
	must(err)
	cu, err = oem.RenameCustomer(ctx, cu.ID, "Acme Corp")
	must(err)
	cu, err = oem.AssignCustomerKeysets(ctx, cu.ID, ids[1])
	must(err)
	got2, err := oem.GetCustomer(ctx, cu.ID)
	must(err)
	if got2.Name != "Acme Corp" || len(got2.Keysets) != 2 || got2.Keysets[1].ID != ids[1] {
		t.Errorf("GetCustomer = %+v", got2)
	}
	customers, err := oem.ListCustomers(ctx, app.ID)
	must(err)
	if len(customers) != 1 || customers[0].KeysetCount != 2 || customers[0].AppCount != 1 {
		t.Errorf("ListCustomers = %+v", customers)
	}
	capps, err := oem.CustomerApps(ctx, cu.ID)
	must(err)
	if len(capps) != 1 || capps[0].ID != app.ID {
		t.Errorf("CustomerApps = %+v", capps)
	}
	cks, err := oem.CustomerKeysets(ctx, cu.ID, app.ID)
	must(err)
	if len(cks) != 2 {
		t.Errorf("CustomerKeysets = %+v", cks)
	}
	owner, err := oem.KeysetCustomer(ctx, ids[1])
	must(err)
	if owner.ID != cu.ID {
		t.Errorf("KeysetCustomer = %+v", owner)
	}

	// The audit log, walked by the cursor two at a time, holds all of it.
	var types []string
	for ev, err := range oem.AuditEvents(ctx, client.AuditFilter{Target: "customer/" + cu.ID}) {
		must(err)
		types = append(types, ev.Type)
	}
	if want := []string{"OemCustomerCreated", "OemCustomerKeysetsAssigned", "OemCustomerUpdated", "OemCustomerKeysetsAssigned"}; !slices.Equal(types, want) {
		t.Errorf("AuditEvents of the customer = %v, want %v", types, want)
	}
	n = 0
	for _, err := range oem.AuditEvents(ctx, client.AuditFilter{}) {
		must(err)
		n++
	}
	if n < 20 {
		t.Errorf("AuditEvents walked %d events, want every change above", n)
	}

	for _, id := range ids {
		must(c.DeleteKeyset(ctx, id))
	}
	must(c.DeleteApp(ctx, app.ID))

	// Refusals decode into *client.Error, and were checked as answers too.
	if _, err := c.GetApp(ctx, app.ID); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("GetApp after DeleteApp: %v", err)
	}
	if _, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: "x"}); client.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("CreateKeyset with app x: %v", err)
	}

	// Webhooks, with a key holding their row. The receiver is a
	// documentation address: deliveries stay pending.
	hooksKey, _, _ := e.integration("hooks", "account:webhook:rw")
	hc, err := client.New(e.base, hooksKey, client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	must(err)
	wh, err := hc.CreateWebhook(ctx, client.NewWebhook{URL: "https://203.0.113.7/hook", Description: "SIEM", Events: []string{"AppCreated"}})
	must(err)
	e.remember(wh.Secret)
	if !strings.HasPrefix(wh.Secret, "whsec_") || !wh.Enabled {
		t.Errorf("CreateWebhook = %+v", wh)
	}
	whs, err := hc.ListWebhooks(ctx)
	must(err)
	if len(whs) != 1 || whs[0].ID != wh.ID || whs[0].Secret != "" {
		t.Errorf("ListWebhooks = %+v", whs)
	}
	got1, err := hc.GetWebhook(ctx, wh.ID)
	must(err)
	if got1.URL != wh.URL {
		t.Errorf("GetWebhook = %+v", got1)
	}
	td, err := hc.TestWebhook(ctx, wh.ID)
	must(err)
	ds, err := hc.WebhookDeliveries(ctx, wh.ID, "", 10)
	must(err)
	if len(ds) != 1 || ds[0].ID != td.ID || ds[0].MessageID != "msg_"+wh.ID+"_"+td.ID {
		t.Errorf("WebhookDeliveries = %+v, test delivery %+v", ds, td)
	}
	_, err = hc.RetryWebhookDelivery(ctx, wh.ID, td.ID)
	must(err)
	until := e.clock.Now().Add(time.Hour)
	rot, err := hc.RotateWebhookSecret(ctx, wh.ID, &until)
	must(err)
	e.remember(rot.Secret)
	off := false
	upd, err := hc.UpdateWebhook(ctx, wh.ID, client.WebhookChange{Enabled: &off})
	must(err)
	if upd.Enabled || upd.DisabledReason == nil {
		t.Errorf("UpdateWebhook = %+v", upd)
	}
	must(hc.DeleteWebhook(ctx, wh.ID))

	var missing []string
	for _, o := range operations {
		if route := o.method + " " + o.path.String(); !tr.seen[route] {
			missing = append(missing, route)
		}
	}
	if missing != nil {
		t.Errorf("the client did not call %v", missing)
	}
}

// idOf writes an id as the API does.
func idOf(id int64) string { return strconv.FormatInt(id, 10) }
