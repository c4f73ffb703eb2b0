package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/keyplane/keyplane/client"
)

// The README's example in full: make an app and a keyset, configure it,
// walk every keyset, and tell a missing keyset from other failures.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("KEYPLANE_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	app, err := c.CreateApp(ctx, "Telemedicine")
	if err != nil {
		log.Fatal(err)
	}
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "prod", Type: "production"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("secret key:", k.SecretKeys[0].SecretKey)
	cfg, err := c.UpdateConfig(ctx, k.Keyset.ID, map[string]any{
		"messagePersistence": map[string]any{"enabled": true, "retention": 30}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retention:", *cfg.MessagePersistence.Retention)
	for ks, err := range c.Keysets(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ks.ID, ks.Name, ks.PublishKey)
	}
	_, err = c.GetKeyset(ctx, "999")
	var e *client.Error
	switch {
	case client.StatusCode(err) == http.StatusNotFound:
		fmt.Println("no keyset 999")
	case errors.As(err, &e):
		fmt.Println(e.StatusCode, e.Name, e.Messages)
	}
}

// Ask before acting: may this key change a keyset's configuration? Each
// needed permission comes with the row that grants it or the one missing.
func ExampleClient_CheckAuthzRequest() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("KEYPLANE_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	ans, err := c.CheckAuthzRequest(ctx, "PATCH", "/v2/keysets/12/config")
	if err != nil {
		log.Fatal(err)
	}
	for _, chk := range ans.Checks {
		if chk.GrantedBy != nil {
			fmt.Println(chk.Resource, chk.Access, "granted by", chk.GrantedBy.Grant)
		} else if chk.Missing != nil {
			fmt.Println(chk.Resource, chk.Access, "needs", chk.Missing.Grant)
		}
	}
	if !ans.Allowed {
		fmt.Println("refused:", ans.Reasons)
	}
}

// Every configuration change of the last week, oldest first, following the
// cursor from page to page.
func ExampleClient_AuditEvents() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("KEYPLANE_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	f := client.AuditFilter{Types: []string{"KeysetConfigChanged"}, From: time.Now().AddDate(0, 0, -7)}
	for ev, err := range c.AuditEvents(ctx, f) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.At.Format(time.RFC3339), ev.Target.ID, ev.Actor.Name, string(ev.After))
	}
}
