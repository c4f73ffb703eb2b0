package e2e

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// patchConfig sends a config PATCH that must succeed, and checks that the
// answer is the full config and equals the next GET.
func (e *env) patchConfig(keysetID string, body any) map[string]any {
	e.t.Helper()
	got := e.do("PATCH", "/v2/keysets/"+keysetID+"/config", body).want(200).object()
	if diff := cmp.Diff(got, e.config(keysetID)); diff != "" {
		e.t.Errorf("PATCH config %v: answer differs from the next GET (-answer +GET):\n%s", body, diff)
	}
	return got
}

// refuseConfig sends a config PATCH that must be refused with exactly msgs,
// and checks that it changed nothing.
func (e *env) refuseConfig(keysetID string, body any, msgs ...string) {
	e.t.Helper()
	before := e.config(keysetID)
	e.do("PATCH", "/v2/keysets/"+keysetID+"/config", body).wantError(400, msgs...)
	if diff := cmp.Diff(before, e.config(keysetID)); diff != "" {
		e.t.Errorf("refused PATCH config %v changed the config (-before +after):\n%s", body, diff)
	}
}

// C2 merges: one field changes, everything else stays, and the answer is
// the full config.
func TestConfigPatchMerges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k").Keyset.ID
	cfg := jsonObject(t, defaultConfig)

	steps := []struct {
		body    string
		changes map[string]any
	}{
		{`{"presence":{"interval":60}}`, map[string]any{"presence.interval": 60}},
		{`{}`, nil},
		{`{"presence":{}}`, nil},
		// PubNub's documented example (reference §7.4).
		{`{"accessManager":{"enabled":true,"tokenRevoke":true},"appContext":{"enabled":false,"disallowGetAllChannelMetadata":true}}`,
			map[string]any{"accessManager.enabled": true, "accessManager.tokenRevoke": true, "appContext.enabled": false,
				"appContext.disallowGetAllChannelMetadata": true}},
		{`{"streamController":{"wildcardSubscribe":false,"channelGroupLimit":2000}}`,
			map[string]any{"streamController.wildcardSubscribe": false, "streamController.channelGroupLimit": 2000}},
		{`{"presence":{"announceMax":0,"interval":300,"debounce":300,"activeNoticeChannel":"` + strings.Repeat("c", 92) + `"}}`,
			map[string]any{"presence.announceMax": 0, "presence.interval": 300, "presence.debounce": 300, "presence.activeNoticeChannel": strings.Repeat("c", 92)}},
		{`{"presence":{"activeNoticeChannel":null,"debounce":0,"interval":10,"announceMax":100}}`,
			map[string]any{"presence.activeNoticeChannel": nil, "presence.debounce": 0, "presence.interval": 10, "presence.announceMax": 100}},
		{`{"messagePersistence":{"retention":0,"includePresenceEvents":true,"deleteFromHistory":true}}`,
			map[string]any{"messagePersistence.retention": 0, "messagePersistence.includePresenceEvents": true, "messagePersistence.deleteFromHistory": true}},
		{`{"fcm":{"filename":"firebase.json"}}`, map[string]any{"fcm.filename": "firebase.json"}},
		{`{"fcm":{"filename":null}}`, map[string]any{"fcm.filename": nil}},
	}
	for _, s := range steps {
		cfg = withChanges(t, cfg, s.changes)
		got := e.patchConfig(k, s.body)
		if diff := cmp.Diff(cfg, got); diff != "" {
			t.Errorf("PATCH %s (-want +got):\n%s", s.body, diff)
		}
	}
}

// Enabling a feature needs its region or retention, on the merged result:
// a value set by an earlier PATCH counts.
func TestConfigEnablingRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createBareKeyset(a.ID, "k")

	e.refuseConfig(k, `{"files":{"enabled":true}}`,
		"files.region: required when files are enabled", "files.retention: required when files are enabled")
	e.refuseConfig(k, `{"files":{"enabled":true,"region":"eu-central-1"}}`,
		"files.retention: required when files are enabled")
	e.refuseConfig(k, `{"appContext":{"enabled":true}}`, "appContext.region: required when appContext is enabled")
	e.refuseConfig(k, `{"dataSync":{"enabled":true}}`, "dataSync.region: required when dataSync is enabled")
	e.refuseConfig(k, `{"messagePersistence":{"enabled":true}}`,
		"messagePersistence.retention: required when messagePersistence is enabled")
	e.refuseConfig(k, `{"apns":{"enabled":true,"teamId":"ABCD1234EF"}}`,
		"apns.authKeyId: required when apns is enabled", "apns.filename: required when apns is enabled")

	cfg := jsonObject(t, bareConfig)
	for _, s := range []struct {
		body    string
		changes map[string]any
	}{
		// Choices first, features later.
		{`{"appContext":{"region":"aws-fra-1"}}`, map[string]any{"appContext.region": "aws-fra-1"}},
		{`{"appContext":{"enabled":true}}`, map[string]any{"appContext.enabled": true}},
		{`{"files":{"region":"eu-central-1"}}`, map[string]any{"files.region": "eu-central-1"}},
		{`{"files":{"enabled":true,"retention":30}}`, map[string]any{"files.enabled": true, "files.retention": 30}},
		{`{"messagePersistence":{"retention":7}}`, map[string]any{"messagePersistence.retention": 7}},
		{`{"messagePersistence":{"enabled":true}}`, map[string]any{"messagePersistence.enabled": true}},
		// Both in one PATCH.
		{`{"dataSync":{"enabled":true,"region":"aws-iad-1"}}`, map[string]any{"dataSync.enabled": true, "dataSync.region": "aws-iad-1"}},
		{`{"apns":{"teamId":"ABCD1234EF","authKeyId":"XYZ9876ABC","filename":"AuthKey_XYZ9876ABC.p8"}}`,
			map[string]any{"apns.teamId": "ABCD1234EF", "apns.authKeyId": "XYZ9876ABC", "apns.filename": "AuthKey_XYZ9876ABC.p8"}},
		{`{"apns":{"enabled":true}}`, map[string]any{"apns.enabled": true}},
		// The MCP client turns persistence off this way.
		{`{"messagePersistence":{"enabled":false}}`, map[string]any{"messagePersistence.enabled": false}},
	} {
		cfg = withChanges(t, cfg, s.changes)
		if diff := cmp.Diff(cfg, e.patchConfig(k, s.body)); diff != "" {
			t.Errorf("PATCH %s (-want +got):\n%s", s.body, diff)
		}
	}
	// Clearing what an enabled feature needs is refused too.
	e.refuseConfig(k, `{"files":{"retention":null}}`, "files.retention: required when files are enabled")
	e.refuseConfig(k, `{"apns":{"teamId":null}}`, "apns.teamId: required when apns is enabled")
}

// Regions are write-once: the same value again is fine, another value or
// null is refused.
func TestConfigRegionsWriteOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	// A keyset created with PubNub's defaults has its regions already.
	def := e.createKeyset(a.ID, "default").Keyset.ID
	e.patchConfig(def, `{"files":{"region":"us-east-1"},"appContext":{"region":"aws-iad-1"}}`)
	e.refuseConfig(def, `{"files":{"region":"eu-central-1"}}`, "files.region: cannot be changed once set")
	e.refuseConfig(def, `{"appContext":{"region":null}}`, "appContext.region: cannot be changed once set")

	k := e.createBareKeyset(a.ID, "k")
	// null before anything is set is no change.
	e.patchConfig(k, `{"files":{"region":null},"appContext":{"region":null},"dataSync":{"region":null}}`)
	e.patchConfig(k, `{"files":{"region":"us-west-1"},"appContext":{"region":"aws-pdx-1"},"dataSync":{"region":"aws-hnd-1"}}`)
	e.patchConfig(k, `{"files":{"region":"us-west-1"},"appContext":{"region":"aws-pdx-1"},"dataSync":{"region":"aws-hnd-1"}}`)
	for _, tc := range []struct{ body, msg string }{
		{`{"files":{"region":"us-east-1"}}`, "files.region: cannot be changed once set"},
		{`{"files":{"region":null}}`, "files.region: cannot be changed once set"},
		{`{"appContext":{"region":"aws-iad-1"}}`, "appContext.region: cannot be changed once set"},
		{`{"appContext":{"region":null}}`, "appContext.region: cannot be changed once set"},
		{`{"dataSync":{"region":"aws-iad-1"}}`, "dataSync.region: cannot be changed once set"},
		{`{"dataSync":{"region":null}}`, "dataSync.region: cannot be changed once set"},
	} {
		e.refuseConfig(k, tc.body, tc.msg)
	}
	// A refused region takes the rest of its PATCH down with it.
	e.refuseConfig(k, `{"presence":{"interval":99},"files":{"region":"us-east-1"}}`, "files.region: cannot be changed once set")
}

// Every value rule, type rule and unknown field is a 400 naming the field,
// and a refused PATCH changes nothing.
func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	// Bare: a region not yet chosen is checked against the allowed ones,
	// where a set one is refused as changed.
	k := e.createBareKeyset(a.ID, "k")
	for _, tc := range []struct {
		body string
		msgs []string
	}{
		{`{"files":{"retention":2}}`, []string{"files.retention: must be one of 0, 1, 7, 30, 90, 180, 365"}},
		{`{"files":{"region":"mars-1"}}`, []string{"files.region: must be one of us-east-1, us-west-1, eu-central-1, ap-south-1, ap-northeast-1"}},
		{`{"streamController":{"channelGroupLimit":0}}`, []string{"streamController.channelGroupLimit: must be between 1 and 2000"}},
		{`{"streamController":{"channelGroupLimit":2001}}`, []string{"streamController.channelGroupLimit: must be between 1 and 2000"}},
		{`{"appContext":{"region":"aws-mars-1"}}`, []string{"appContext.region: must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1"}},
		{`{"dataSync":{"region":"us-east-1"}}`, []string{"dataSync.region: must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1"}},
		{`{"apns":{"teamId":"short"}}`, []string{"apns.teamId: must be 10 letters or digits"}},
		{`{"apns":{"authKeyId":"ABCDEFGHI!"}}`, []string{"apns.authKeyId: must be 10 letters or digits"}},
		{`{"apns":{"filename":"keys/AuthKey.p8"}}`, []string{`apns.filename: must be 1 to 255 characters without / or \`}},
		{`{"fcm":{"filename":""}}`, []string{`fcm.filename: must be 1 to 255 characters without / or \`}},
		{`{"fcm":{"filename":"` + strings.Repeat("f", 256) + `"}}`, []string{`fcm.filename: must be 1 to 255 characters without / or \`}},
		{`{"messagePersistence":{"retention":14}}`, []string{"messagePersistence.retention: must be one of 0, 1, 7, 30, 90, 180, 365"}},
		{`{"presence":{"activeNoticeChannel":"has space"}}`, []string{"presence.activeNoticeChannel: must be 1 to 92 characters without spaces or commas"}},
		{`{"presence":{"activeNoticeChannel":"a,b"}}`, []string{"presence.activeNoticeChannel: must be 1 to 92 characters without spaces or commas"}},
		{`{"presence":{"activeNoticeChannel":"` + strings.Repeat("c", 93) + `"}}`, []string{"presence.activeNoticeChannel: must be 1 to 92 characters without spaces or commas"}},
		{`{"presence":{"activeNoticeChannel":""}}`, []string{"presence.activeNoticeChannel: must be 1 to 92 characters without spaces or commas"}},
		{`{"presence":{"announceMax":101}}`, []string{"presence.announceMax: must be between 0 and 100"}},
		{`{"presence":{"announceMax":-1}}`, []string{"presence.announceMax: must be between 0 and 100"}},
		{`{"presence":{"interval":9}}`, []string{"presence.interval: must be between 10 and 300"}},
		{`{"presence":{"interval":301}}`, []string{"presence.interval: must be between 10 and 300"}},
		{`{"presence":{"debounce":-1}}`, []string{"presence.debounce: must be between 0 and 300"}},
		{`{"presence":{"debounce":301}}`, []string{"presence.debounce: must be between 0 and 300"}},
		{`{"presence":{"interval":5,"debounce":500}}`, []string{"presence.interval: must be between 10 and 300", "presence.debounce: must be between 0 and 300"}},
		// Types.
		{`{"presence":{"interval":"10"}}`, []string{"presence.interval: must be an integer"}},
		{`{"presence":{"interval":10.5}}`, []string{"presence.interval: must be an integer"}},
		{`{"presence":{"interval":null}}`, []string{"presence.interval: must be an integer"}},
		{`{"presence":{"interval":1e2}}`, []string{"presence.interval: must be an integer"}},
		{`{"presence":{"interval":99999999999999999999}}`, []string{"presence.interval: out of range"}},
		{`{"accessManager":{"enabled":"yes"}}`, []string{"accessManager.enabled: must be a boolean"}},
		{`{"accessManager":{"enabled":null}}`, []string{"accessManager.enabled: must be a boolean"}},
		{`{"files":{"region":7}}`, []string{"files.region: must be a string"}},
		{`{"files":null}`, []string{"files: must be an object"}},
		{`{"presence":[]}`, []string{"presence: must be an object"}},
		// Unknown fields, at the top and nested.
		{`{"usage":{"enabled":true}}`, []string{"usage: unknown field"}},
		{`{"presence":{"intervall":10}}`, []string{"presence.intervall: unknown field"}},
		{`{"apns":{"token":"abc"}}`, []string{"apns.token: unknown field"}},
		{`{"fcm":{"enabled":true}}`, []string{"fcm.enabled: unknown field"}},
		{`{"Presence":{"interval":20}}`, []string{"Presence: unknown field"}},
		{`{"presence":{"interval":20,"interval":30}}`, []string{"presence.interval: duplicate field"}},
		// Bodies.
		{``, []string{"body: required"}},
		{`[]`, []string{"body: must be a JSON object"}},
		{`null`, []string{"body: must be a JSON object"}},
	} {
		e.refuseConfig(k, tc.body, tc.msgs...)
	}
	e.do("PATCH", "/v2/keysets/"+k+"/config", `{"presence":`).wantErrorContaining(400, "body: invalid JSON")
	if diff := cmp.Diff(jsonObject(t, bareConfig), e.config(k)); diff != "" {
		t.Errorf("config after only refused PATCHes is not the one created (-want +got):\n%s", diff)
	}
}

// A keyset made with part of a config gets it applied over the defaults; a
// bad config refuses the whole creation.
func TestCreateKeysetWithConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	var k keysetCreated
	e.do("POST", "/v2/keysets", `{"keyset":{"name":"chat","type":"production","appId":"`+a.ID+`"},
		"config":{"messagePersistence":{"enabled":true,"retention":30},"presence":{"deltas":true},
		"appContext":{"enabled":true,"region":"aws-iad-1"}}}`).want(201).decode(&k)
	want := withChanges(t, jsonObject(t, defaultConfig), map[string]any{
		"messagePersistence.enabled": true, "messagePersistence.retention": 30, "presence.deltas": true,
		"appContext.enabled": true, "appContext.region": "aws-iad-1",
	})
	if diff := cmp.Diff(want, k.Config); diff != "" {
		t.Errorf("create answer config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.config(k.Keyset.ID)); diff != "" {
		t.Errorf("GET config after create (-want +got):\n%s", diff)
	}
	// The region chosen at creation is write-once too.
	e.refuseConfig(k.Keyset.ID, `{"appContext":{"region":"aws-fra-1"}}`, "appContext.region: cannot be changed once set")

	for _, tc := range []struct {
		body string
		msgs []string
	}{
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"presence":{"bogus":1}}}`, []string{"config.presence.bogus: unknown field"}},
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"bogus":{}}}`, []string{"config.bogus: unknown field"}},
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"presence":{"interval":"x"}}}`, []string{"config.presence.interval: must be an integer"}},
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"files":{"enabled":true,"region":null,"retention":null},"presence":{"interval":1}}}`, []string{
			"config.presence.interval: must be between 10 and 300",
			"config.files.region: required when files are enabled",
			"config.files.retention: required when files are enabled",
		}},
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"messagePersistence":{"retention":null}}}`,
			[]string{"config.messagePersistence.retention: required when messagePersistence is enabled"}},
		{`{"keyset":{"appId":"` + a.ID + `"},"config":{"appContext":{"region":"us-east-1"}}}`,
			[]string{"config.appContext.region: must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1"}},
		{`{"keyset":{"appId":"x"},"config":{"bogus":1}}`, []string{`keyset.appId: must be a numeric id such as "12", not "x"`, "config.bogus: unknown field"}},
		{`{"keyset":{"appId":"` + a.ID + `","name":" "},"config":{"presence":{"interval":1}}}`, []string{
			"keyset.name: required, and not only spaces", "config.presence.interval: must be between 10 and 300",
		}},
	} {
		e.do("POST", "/v2/keysets", tc.body).wantError(400, tc.msgs...)
	}
	if n := e.keysetTotal(); n != 1 {
		t.Errorf("keysets after refused creations = %d, want 1", n)
	}
}

// A keyset created with part of a config keeps PubNub's defaults where the
// config is silent, may choose regions other than the default ones (nothing
// is stored yet), and a feature turned off at creation has no region, so
// that enabling it later may choose one.
func TestCreateKeysetConfigDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	create := func(config string) keysetCreated {
		t.Helper()
		var k keysetCreated
		e.do("POST", "/v2/keysets", `{"keyset":{"appId":"`+a.ID+`"},"config":`+config+`}`).want(201).decode(&k)
		if diff := cmp.Diff(k.Config, e.config(k.Keyset.ID)); diff != "" {
			t.Errorf("GET config after creating with %s differs from the answer (-answer +GET):\n%s", config, diff)
		}
		return k
	}
	for _, tc := range []struct {
		config  string
		changes map[string]any
	}{
		{`{}`, nil},
		{`{"presence":{"announceMax":50}}`, map[string]any{"presence.announceMax": 50}},
		{`{"files":{"region":"eu-central-1","retention":30},"appContext":{"region":"aws-fra-1","referentialIntegrity":true}}`,
			map[string]any{"files.region": "eu-central-1", "files.retention": 30, "appContext.region": "aws-fra-1", "appContext.referentialIntegrity": true}},
		{`{"messagePersistence":{"enabled":false},"presence":{"enabled":false}}`,
			map[string]any{"messagePersistence.enabled": false, "presence.enabled": false}},
		{`{"files":{"enabled":false},"appContext":{"enabled":false}}`,
			map[string]any{"files.enabled": false, "files.region": nil, "appContext.enabled": false, "appContext.region": nil}},
		{`{"files":{"enabled":false,"region":"us-west-1"}}`, map[string]any{"files.enabled": false, "files.region": "us-west-1"}},
	} {
		k := create(tc.config)
		if diff := cmp.Diff(withChanges(t, jsonObject(t, defaultConfig), tc.changes), k.Config); diff != "" {
			t.Errorf("created with %s (-want +got):\n%s", tc.config, diff)
		}
	}
	off := create(`{"files":{"enabled":false},"appContext":{"enabled":false}}`).Keyset.ID
	got := e.patchConfig(off, `{"files":{"enabled":true,"region":"ap-south-1"},"appContext":{"enabled":true,"region":"aws-bom-1"}}`)
	if got["files"].(map[string]any)["region"] != "ap-south-1" || got["appContext"].(map[string]any)["region"] != "aws-bom-1" {
		t.Errorf("regions chosen after creation: %v", got)
	}
}

// A config that is not an object is refused naming "config" itself, not a
// field inside it ("config.body" names nothing the caller sent).
func TestCreateKeysetConfigNotAnObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	for _, cfg := range []string{`[]`, `"files"`, `7`} {
		r := e.do("POST", "/v2/keysets", `{"keyset":{"appId":"`+a.ID+`"},"config":`+cfg+`}`)
		var eb errorJSON
		r.decode(&eb)
		if r.Status != 400 || len(eb.Message) != 1 || !strings.HasPrefix(eb.Message[0], "config: ") {
			t.Errorf(`config %s → %d %q, want 400 with one message "config: …"`, cfg, r.Status, eb.Message)
		}
	}
	if n := e.keysetTotal(); n != 0 {
		t.Errorf("keysets after refused creations = %d, want 0", n)
	}
}

// Concurrent PATCHes of different fields all land: the read-merge-write is
// one serialized transaction.
func TestConfigConcurrentPatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k").Keyset.ID
	changes := map[string]any{
		"presence.deltas": true, "presence.streamFiltering": true, "presence.generateLeaveOnDisconnect": true,
		"accessManager.enabled": true, "accessManager.tokenRevoke": true,
		"appContext.disallowGetAllUserMetadata": true, "appContext.disallowGetAllChannelMetadata": true,
		"messagePersistence.includePresenceEvents": true, "messagePersistence.deleteFromHistory": true,
		"streamController.wildcardSubscribe": false,
	}
	var wg sync.WaitGroup
	for path, v := range changes {
		section, field, _ := strings.Cut(path, ".")
		wg.Go(func() {
			r := e.do("PATCH", "/v2/keysets/"+k+"/config", map[string]any{section: map[string]any{field: v}})
			if r.Status != 200 {
				t.Errorf("PATCH %s: status %d: %s", path, r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(withChanges(t, jsonObject(t, defaultConfig), changes), e.config(k)); diff != "" {
		t.Errorf("config after concurrent PATCHes (-want +got):\n%s", diff)
	}
}
