package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// An app's keysets table shows each keyset's subscribe and publish keys as
// text (selectable without script) with a copy button beside each once the
// script runs.
func TestKeysetsTableCopiesKeys(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	owner := mustSession(t, e, "owner@example.com")
	app, _ := e.svc.CreateApp(context.Background(), owner, "Telemedicine")
	k, _, _, err := e.svc.CreateKeyset(context.Background(), owner, control.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")
	body := e.get(c, "/apps/"+itoa(app.ID)).body
	for _, want := range []string{`<code id="sub-` + itoa(k.ID) + `">` + k.SubscribeKey + `</code>`, `<code id="pub-` + itoa(k.ID) + `">` + k.PublishKey + `</code>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the keysets table lacks %s", want)
		}
	}

	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	sub := `button[data-copy="sub-` + itoa(k.ID) + `"]`
	run(t, ctx, "app page", chromedp.Navigate(e.base+"/apps/"+itoa(app.ID)), chromedp.WaitVisible(chromedp.CSS(sub)))
	run(t, ctx, "copy the subscribe key", chromedp.Click(chromedp.CSS(sub)), chromedp.WaitVisible(chromedp.CSS(sub+".copied")))
	if got := text(t, ctx, "#sub-"+itoa(k.ID)); got != k.SubscribeKey {
		t.Errorf("subscribe key shown %q", got)
	}
}
