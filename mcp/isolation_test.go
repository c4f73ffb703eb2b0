package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/hooktest"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// Tenants never see each other through /mcp: for every operation of every
// tool (read from tools/list, so a new one is covered or this fails), an
// assistant holding account B's key with every row, given an id of account
// A's, gets exactly the answer an id that exists nowhere gets, its lists
// never hold A's rows, and nothing of A's changes.
func TestTenantsAreIsolatedThroughMCP(t *testing.T) {
	t.Parallel()
	s := webhookServer(t)
	ctx := context.Background()
	opA := keyplane.Operator(s.account)
	if _, err := s.svc.SetPartner(ctx, keyplane.InstallOperator, s.account, true); err != nil {
		t.Fatal(err)
	}
	app, err := s.svc.CreateApp(ctx, opA, "Zephyr app")
	if err != nil {
		t.Fatal(err)
	}
	name := "Zephyr keys"
	ks, _, _, err := s.svc.CreateKeyset(ctx, opA, control.NewKeyset{AppID: app.ID, Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RotateSecretKey(ctx, opA, ks.ID, ptr(wallclock.Now().Add(48*time.Hour))); err != nil {
		t.Fatal(err)
	}
	cust, err := s.svc.CreateCustomer(ctx, opA, control.NewCustomer{ExternalID: "z-1", Name: "Zephyr customer", KeysetIDs: []int64{ks.ID}})
	if err != nil {
		t.Fatal(err)
	}
	keysA := s.client(s.key("A's reader", append(fullAccess, "account:oem-customer:rw", "account:webhook:rw")...))
	secrets, err := keysA.ListSecretKeys(ctx, itoa(ks.ID), false)
	if err != nil {
		t.Fatal(err)
	}
	prefix := secrets[len(secrets)-1].SecretKey[:11]
	hook, err := keysA.CreateWebhook(ctx, client.NewWebhook{URL: hooktest.Start(t).URL + "/zephyr", Description: "Zephyr hook", Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := keysA.TestWebhook(ctx, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A's state is compared before and after: let the worker deliver first.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ds, err := keysA.WebhookDeliveries(ctx, hook.ID, "pending", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's deliveries are still pending after 10 s: %+v", ds)
		}
	}
	stateA := func() string {
		var parts []any
		apps, err := keysA.ListApps(ctx, client.ListOptions{Limit: 100})
		parts = append(parts, apps, err)
		keysets, err := keysA.ListKeysets(ctx, client.ListOptions{Limit: 100})
		parts = append(parts, keysets, err)
		cfg, err := keysA.GetConfig(ctx, itoa(ks.ID))
		parts = append(parts, cfg, err)
		sk, err := keysA.ListSecretKeys(ctx, itoa(ks.ID), false)
		parts = append(parts, sk, err)
		c, err := keysA.GetCustomer(ctx, itoa(cust.ID))
		parts = append(parts, c, err)
		w, err := keysA.GetWebhook(ctx, hook.ID)
		parts = append(parts, w, err)
		ds, err := keysA.WebhookDeliveries(ctx, hook.ID, "", 0)
		parts = append(parts, ds, err)
		b, _ := json.Marshal(parts)
		return string(b)
	}
	before := stateA()

	// Account B, a partner, and an assistant with every row a key may hold.
	acct, err := s.svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta Corp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetPartner(ctx, keyplane.InstallOperator, acct.ID, true); err != nil {
		t.Fatal(err)
	}
	var rows []keyplane.Grant
	for _, g := range keyplane.Offered() {
		if g.Level == keyplane.LevelAccount {
			rows = append(rows, g)
		}
	}
	_, keyB, err := s.svc.CreateIntegration(ctx, keyplane.Operator(acct.ID), "B's assistant", rows, wallclock.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cs := overHTTP(t, s, "Bearer "+keyB.Key)

	// Every operation that takes an id, with "ID" where the id goes.
	theirs := map[string]string{"app": itoa(app.ID), "keyset": itoa(ks.ID), "customer": itoa(cust.ID), "prefix": prefix,
		"webhook": hook.ID, "delivery": sent.ID}
	missing := map[string]string{"app": "999999", "keyset": "999998", "customer": "999997", "prefix": "sec-c-ZZZZZ",
		"webhook": "999996", "delivery": "999995"}
	type call struct {
		tool, operation string
		args            func(ids map[string]string) map[string]any
	}
	op := func(tool, operation string, data func(ids map[string]string) map[string]any) call {
		return call{tool, operation, func(ids map[string]string) map[string]any {
			return map[string]any{"operation": operation, "data": data(ids)}
		}}
	}
	usage := func(entity string) call {
		return call{"get_usage_metrics", entity, func(ids map[string]string) map[string]any {
			return map[string]any{"entityType": entity, "entityId": ids[entity], "from": "2026-01-01", "to": "2026-01-02", "metrics": []string{"publish"}}
		}}
	}
	calls := []call{
		op("manage_apps", "update", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["app"], "name": "taken"} }),
		op("manage_keysets", "get", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["keyset"]} }),
		op("manage_keysets", "list", func(ids map[string]string) map[string]any { return map[string]any{"appId": ids["app"]} }),
		op("manage_keysets", "create", func(ids map[string]string) map[string]any {
			return map[string]any{"appId": ids["app"], "name": "x", "type": "testing"}
		}),
		op("manage_keysets", "update", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["keyset"], "name": "taken", "config": map[string]any{"presence": map[string]any{"announceMax": 7}}}
		}),
		op("manage_secret_keys", "list", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["keyset"]} }),
		op("manage_secret_keys", "rotate", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["keyset"], "oldKeyExpiresInSeconds": 3600}
		}),
		op("manage_secret_keys", "delete", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["keyset"], "prefix": ids["prefix"]}
		}),
		op("manage_customers", "list", func(ids map[string]string) map[string]any { return map[string]any{"appId": ids["app"]} }),
		op("manage_customers", "get", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["customer"]} }),
		op("manage_customers", "update", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["customer"], "name": "taken"}
		}),
		op("manage_customers", "assign_keysets", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["customer"], "keysetIds": []string{ids["keyset"]}}
		}),
		op("manage_customers", "create", func(ids map[string]string) map[string]any {
			return map[string]any{"externalId": "b-1", "name": "B's", "keysetIds": []string{ids["keyset"]}}
		}),
		op("manage_customers", "keyset_customer", func(ids map[string]string) map[string]any { return map[string]any{"keysetId": ids["keyset"]} }),
		op("manage_webhooks", "get", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["webhook"]} }),
		op("manage_webhooks", "update", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["webhook"], "description": "taken", "enabled": false}
		}),
		op("manage_webhooks", "rotate_secret", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["webhook"], "oldSecretExpiresInSeconds": 3600}
		}),
		op("manage_webhooks", "deliveries", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["webhook"]} }),
		op("manage_webhooks", "retry", func(ids map[string]string) map[string]any {
			return map[string]any{"id": ids["webhook"], "deliveryId": ids["delivery"]}
		}),
		op("manage_webhooks", "test", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["webhook"]} }),
		op("manage_webhooks", "delete", func(ids map[string]string) map[string]any { return map[string]any{"id": ids["webhook"]} }),
		usage("app"), usage("keyset"), usage("customer"),
	}
	// Operations that take no id of another account's.
	idless := []string{"manage_apps list", "manage_apps create", "whoami ", "get_usage_metrics account", "manage_webhooks list", "manage_webhooks create"}

	// Every operation of every tool is in one of the two lists.
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.Tools {
		var schema struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		}
		b, _ := json.Marshal(tl.InputSchema)
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatal(err)
		}
		ops := schema.Properties["operation"].Enum
		if tl.Name == "get_usage_metrics" {
			ops = schema.Properties["entityType"].Enum
		}
		if len(ops) == 0 {
			ops = []string{""}
		}
		for _, o := range ops {
			known := slices.Contains(idless, tl.Name+" "+o) || slices.ContainsFunc(calls, func(c call) bool { return c.tool == tl.Name && c.operation == o })
			if !known {
				t.Errorf("%s %s: not in the isolation test", tl.Name, o)
			}
		}
	}

	// A tool's answer, with the ids it was given put as ID.
	answer := func(res *sdk.CallToolResult, ids map[string]string) string {
		s := fmt.Sprintf("error=%v %s", res.IsError, text(res))
		for _, id := range ids {
			s = regexp.MustCompile(`\b`+regexp.QuoteMeta(id)+`\b`).ReplaceAllString(s, "ID")
		}
		return s
	}
	for _, c := range calls {
		foreign := answer(callRaw(t, cs, c.tool, c.args(theirs)), theirs)
		absent := answer(callRaw(t, cs, c.tool, c.args(missing)), missing)
		if foreign != absent {
			t.Errorf("%s %s with account A's ids:\n  %s\nwith missing ids:\n  %s", c.tool, c.operation, foreign, absent)
		}
	}
	for _, args := range []map[string]any{{"operation": "list"}} {
		for _, tool := range []string{"manage_apps", "manage_keysets", "manage_customers", "manage_webhooks"} {
			got := text(callRaw(t, cs, tool, args))
			for _, name := range []string{"Zephyr app", "Zephyr keys", "Zephyr customer", ks.PublishKey, "Zephyr hook", "/zephyr"} {
				if strings.Contains(got, name) {
					t.Errorf("%s list by account B holds %q", tool, name)
				}
			}
		}
	}
	if after := stateA(); after != before {
		t.Errorf("account A changed:\nbefore %s\nafter  %s", before, after)
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }

func ptr[T any](v T) *T { return &v }
