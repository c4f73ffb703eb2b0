package keyplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testBareConfig has every feature that needs a choice (a region, a
// retention, credentials) off and the choice not made, so that a patch can
// make each choice for the first time (regions are write-once).
func testBareConfig() Config { return bareConfig() }

// testFullConfig has every nullable field set and every feature off, so
// that any feature can be enabled alone and any nullable field cleared.
func testFullConfig() Config {
	c := testBareConfig()
	c.Files.Retention, c.Files.Region = new(7), new("eu-central-1")
	c.AppContext.Region = new("aws-fra-1")
	c.DataSync.Region = new("aws-pdx-1")
	c.APNs.TeamID, c.APNs.AuthKeyID, c.APNs.Filename = new("TEAM123456"), new("KEY1234567"), new("AuthKey.p8")
	c.FCM.Filename = new("fcm.json")
	c.MessagePersistence.Retention = new(30)
	c.Presence.ActiveNoticeChannel = new("notices")
	return c
}

// applyConfigJSON applies JSON patches one after the other, as successive
// PATCH requests would.
func applyConfigJSON(c Config, patches ...string) (Config, error) {
	for _, body := range patches {
		p, err := ParseConfigPatch([]byte(body))
		if err != nil {
			return Config{}, err
		}
		if c, err = c.Apply(p); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

func mustApplyConfigJSON(t *testing.T, c Config, patches ...string) Config {
	t.Helper()
	got, err := applyConfigJSON(c, patches...)
	if err != nil {
		t.Fatalf("applying %s: %v", patches, err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("result of %s fails Validate: %v", patches, err)
	}
	return got
}

func checkConfigMessages(t *testing.T, err error, want []string) {
	t.Helper()
	if ErrorCode(err) != CodeInvalid {
		t.Fatalf("error = %v, want a CodeInvalid *Error", err)
	}
	if diff := cmp.Diff(want, ErrorMessages(err)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// configJSON is c as the client sees it, to compare configs field by path.
func configJSON(t *testing.T, c Config) map[string]map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fieldPatch is a patch setting the one field at path ("presence.interval")
// to a JSON literal.
func fieldPatch(path, literal string) string {
	section, field, _ := strings.Cut(path, ".")
	return fmt.Sprintf(`{%q:{%q:%s}}`, section, field, literal)
}

func TestDefaultConfig(t *testing.T) {
	got, err := json.MarshalIndent(DefaultConfig(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// PubNub's answer to POST /v2/keysets without config, as the fixtures
	// of its MCP server (@pubnub/mcp, src/test-utils/test-fixtures.ts)
	// record it; our tokenRevoke is false where theirs is null, and DataSync,
	// which they do not show, is off.
	want := `{
  "accessManager": {
    "enabled": false,
    "tokenRevoke": false
  },
  "files": {
    "enabled": true,
    "retention": 7,
    "region": "us-east-1"
  },
  "streamController": {
    "enabled": true,
    "wildcardSubscribe": true,
    "channelGroupLimit": 100
  },
  "appContext": {
    "enabled": true,
    "userMetadataEvents": true,
    "channelMetadataEvents": true,
    "membershipEvents": true,
    "disallowGetAllChannelMetadata": false,
    "disallowGetAllUserMetadata": false,
    "referentialIntegrity": false,
    "region": "aws-iad-1"
  },
  "dataSync": {
    "enabled": false,
    "region": null
  },
  "apns": {
    "enabled": false,
    "teamId": null,
    "authKeyId": null,
    "filename": null
  },
  "fcm": {
    "filename": null
  },
  "messagePersistence": {
    "enabled": true,
    "includePresenceEvents": false,
    "deleteFromHistory": false,
    "retention": 7
  },
  "presence": {
    "enabled": true,
    "deltas": false,
    "generateLeaveOnDisconnect": false,
    "streamFiltering": false,
    "activeNoticeChannel": null,
    "announceMax": 20,
    "interval": 10,
    "debounce": 2
  }
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("DefaultConfig JSON (-want +got):\n%s", diff)
	}
	for name, c := range map[string]Config{"default": DefaultConfig(), "bare": testBareConfig(), "full": testFullConfig()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s config fails Validate: %v", name, err)
		}
	}
}

// TestNewConfig: a keyset created with a partial config keeps PubNub's
// defaults wherever the config is silent, may choose its own regions (no
// data is stored yet, so the write-once rule has nothing to protect), and
// is left without a default region on a feature it turns off, so that
// enabling it later may still choose one.
func TestNewConfig(t *testing.T) {
	tests := []struct {
		name   string
		patch  string
		change func(*Config) // applied to DefaultConfig()
	}{
		{"no config", `{}`, func(c *Config) {}},
		{"empty sections", `{"files":{},"appContext":{},"messagePersistence":{},"presence":{}}`, func(c *Config) {}},
		{"another section only", `{"presence":{"announceMax":50},"accessManager":{"enabled":true}}`,
			func(c *Config) { c.Presence.AnnounceMax, c.AccessManager.Enabled = 50, true }},
		{"a files region replaces the default", `{"files":{"region":"eu-central-1"}}`,
			func(c *Config) { c.Files.Region = new("eu-central-1") }},
		{"an appContext region replaces the default", `{"appContext":{"enabled":true,"region":"aws-fra-1","referentialIntegrity":true}}`,
			func(c *Config) { c.AppContext.Region, c.AppContext.ReferentialIntegrity = new("aws-fra-1"), true }},
		{"the default region again", `{"files":{"region":"us-east-1"},"appContext":{"region":"aws-iad-1"}}`, func(c *Config) {}},
		{"retentions", `{"files":{"retention":30},"messagePersistence":{"retention":0}}`,
			func(c *Config) { c.Files.Retention, c.MessagePersistence.Retention = new(30), new(0) }},
		{"files off: no default region", `{"files":{"enabled":false}}`,
			func(c *Config) { c.Files.Enabled, c.Files.Region = false, nil }},
		{"appContext off: no default region", `{"appContext":{"enabled":false}}`,
			func(c *Config) { c.AppContext.Enabled, c.AppContext.Region = false, nil }},
		{"off with a region chosen keeps it", `{"files":{"enabled":false,"region":"us-west-1"},"appContext":{"enabled":false,"region":"aws-hnd-1"}}`,
			func(c *Config) {
				c.Files.Enabled, c.Files.Region = false, new("us-west-1")
				c.AppContext.Enabled, c.AppContext.Region = false, new("aws-hnd-1")
			}},
		{"messagePersistence and presence off", `{"messagePersistence":{"enabled":false},"presence":{"enabled":false}}`,
			func(c *Config) { c.MessagePersistence.Enabled, c.Presence.Enabled = false, false }},
		{"dataSync needs its region as before", `{"dataSync":{"enabled":true,"region":"aws-pdx-1"}}`,
			func(c *Config) { c.DataSync = DataSync{Enabled: true, Region: new("aws-pdx-1")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseConfigPatch([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewConfig(p)
			if err != nil {
				t.Fatalf("NewConfig(%s): %v", tt.patch, err)
			}
			want := DefaultConfig()
			tt.change(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("NewConfig(%s) (-want +got):\n%s", tt.patch, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("NewConfig(%s) fails Validate: %v", tt.patch, err)
			}
		})
	}

	refused := []struct {
		patch string
		want  []string
	}{
		{`{"files":{"region":null}}`, []string{"files.region: required when files are enabled"}},
		{`{"files":{"retention":null},"messagePersistence":{"retention":null}}`,
			[]string{"files.retention: required when files are enabled", "messagePersistence.retention: required when messagePersistence is enabled"}},
		{`{"appContext":{"region":null}}`, []string{"appContext.region: required when appContext is enabled"}},
		{`{"appContext":{"region":"us-east-1"}}`, []string{"appContext.region: must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1"}},
		{`{"files":{"retention":14}}`, []string{"files.retention: must be one of 0, 1, 7, 30, 90, 180, 365"}},
		{`{"dataSync":{"enabled":true}}`, []string{"dataSync.region: required when dataSync is enabled"}},
	}
	for _, tt := range refused {
		p, err := ParseConfigPatch([]byte(tt.patch))
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewConfig(p)
		checkConfigMessages(t, err, tt.want)
	}

	// A feature turned off at creation may be enabled later in any region.
	p, _ := ParseConfigPatch([]byte(`{"files":{"enabled":false},"appContext":{"enabled":false}}`))
	c, err := NewConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	got := mustApplyConfigJSON(t, c, `{"files":{"enabled":true,"region":"ap-south-1"},"appContext":{"enabled":true,"region":"aws-bom-1"}}`)
	if *got.Files.Region != "ap-south-1" || *got.AppContext.Region != "aws-bom-1" {
		t.Errorf("regions after enabling: %v, %v", *got.Files.Region, *got.AppContext.Region)
	}
	// One enabled by default keeps its region, as any stored keyset's.
	_, err = applyConfigJSON(DefaultConfig(), `{"files":{"region":"eu-central-1"}}`)
	checkConfigMessages(t, err, []string{"files.region: cannot be changed once set"})
}

// TestConfigPatchMirrorsConfig keeps ConfigPatch in step with Config: same
// sections and fields under the same JSON names, each an Opt of the value.
func TestConfigPatchMirrorsConfig(t *testing.T) {
	ct, pt := reflect.TypeFor[Config](), reflect.TypeFor[ConfigPatch]()
	if ct.NumField() != pt.NumField() {
		t.Fatalf("Config has %d sections, ConfigPatch %d", ct.NumField(), pt.NumField())
	}
	for i := range ct.NumField() {
		cs, ps := ct.Field(i), pt.Field(i)
		if cs.Tag != ps.Tag || ps.Type.Kind() != reflect.Pointer || cs.Type.NumField() != ps.Type.Elem().NumField() {
			t.Fatalf("section %s: ConfigPatch has %s %s", cs.Name, ps.Type, ps.Tag)
		}
		for j := range cs.Type.NumField() {
			cf, pf := cs.Type.Field(j), ps.Type.Elem().Field(j)
			vt := cf.Type
			if vt.Kind() == reflect.Pointer {
				vt = vt.Elem()
			}
			if cf.Tag != pf.Tag || cf.Name != pf.Name || !pf.Type.Implements(optionalType) ||
				reflect.Zero(pf.Type).Interface().(optional).valueType() != vt {
				t.Errorf("%s.%s %s: patch field is %s %s %s", cs.Name, cf.Name, cf.Type, pf.Name, pf.Type, pf.Tag)
			}
		}
	}
}

func TestConfigApplyChangesOnlyWhatIsGiven(t *testing.T) {
	tests := []struct {
		name   string
		base   Config
		patch  string
		change func(*Config)
	}{
		{"empty patch", testBareConfig(), `{}`, func(c *Config) {}},
		{"empty section", testBareConfig(), `{"presence":{}}`, func(c *Config) {}},
		{"accessManager.enabled", testBareConfig(), `{"accessManager":{"enabled":true}}`, func(c *Config) { c.AccessManager.Enabled = true }},
		{"accessManager.tokenRevoke", testBareConfig(), `{"accessManager":{"tokenRevoke":true}}`, func(c *Config) { c.AccessManager.TokenRevoke = true }},
		{"files.enabled with its needs", testBareConfig(), `{"files":{"enabled":true,"region":"us-east-1","retention":365}}`,
			func(c *Config) { c.Files = Files{Enabled: true, Retention: new(365), Region: new("us-east-1")} }},
		{"files.enabled alone", testFullConfig(), `{"files":{"enabled":true}}`, func(c *Config) { c.Files.Enabled = true }},
		{"files.retention", testBareConfig(), `{"files":{"retention":0}}`, func(c *Config) { c.Files.Retention = new(0) }},
		{"files.region", testBareConfig(), `{"files":{"region":"ap-northeast-1"}}`, func(c *Config) { c.Files.Region = new("ap-northeast-1") }},
		{"streamController.enabled", testBareConfig(), `{"streamController":{"enabled":false}}`, func(c *Config) { c.StreamController.Enabled = false }},
		{"streamController.wildcardSubscribe", testBareConfig(), `{"streamController":{"wildcardSubscribe":false}}`, func(c *Config) { c.StreamController.WildcardSubscribe = false }},
		{"streamController.channelGroupLimit", testBareConfig(), `{"streamController":{"channelGroupLimit":2000}}`, func(c *Config) { c.StreamController.ChannelGroupLimit = 2000 }},
		{"appContext.enabled with its region", testBareConfig(), `{"appContext":{"enabled":true,"region":"aws-bom-1"}}`,
			func(c *Config) { c.AppContext.Enabled, c.AppContext.Region = true, new("aws-bom-1") }},
		{"appContext.enabled alone", testFullConfig(), `{"appContext":{"enabled":true}}`, func(c *Config) { c.AppContext.Enabled = true }},
		{"appContext.userMetadataEvents", testBareConfig(), `{"appContext":{"userMetadataEvents":false}}`, func(c *Config) { c.AppContext.UserMetadataEvents = false }},
		{"appContext.channelMetadataEvents", testBareConfig(), `{"appContext":{"channelMetadataEvents":false}}`, func(c *Config) { c.AppContext.ChannelMetadataEvents = false }},
		{"appContext.membershipEvents", testBareConfig(), `{"appContext":{"membershipEvents":false}}`, func(c *Config) { c.AppContext.MembershipEvents = false }},
		{"appContext.disallowGetAllChannelMetadata", testBareConfig(), `{"appContext":{"disallowGetAllChannelMetadata":true}}`, func(c *Config) { c.AppContext.DisallowGetAllChannelMetadata = true }},
		{"appContext.disallowGetAllUserMetadata", testBareConfig(), `{"appContext":{"disallowGetAllUserMetadata":true}}`, func(c *Config) { c.AppContext.DisallowGetAllUserMetadata = true }},
		{"appContext.referentialIntegrity", testBareConfig(), `{"appContext":{"referentialIntegrity":false}}`, func(c *Config) { c.AppContext.ReferentialIntegrity = false }},
		{"appContext.region", testBareConfig(), `{"appContext":{"region":"aws-hnd-1"}}`, func(c *Config) { c.AppContext.Region = new("aws-hnd-1") }},
		{"dataSync.enabled leaves Access Manager off", testBareConfig(), `{"dataSync":{"enabled":true,"region":"aws-iad-1"}}`,
			func(c *Config) { c.DataSync = DataSync{Enabled: true, Region: new("aws-iad-1")} }},
		{"dataSync.enabled alone", testFullConfig(), `{"dataSync":{"enabled":true}}`, func(c *Config) { c.DataSync.Enabled = true }},
		{"dataSync.region", testBareConfig(), `{"dataSync":{"region":"aws-fra-1"}}`, func(c *Config) { c.DataSync.Region = new("aws-fra-1") }},
		{"apns.enabled with its credentials", testBareConfig(), `{"apns":{"enabled":true,"teamId":"ABCDE12345","authKeyId":"fghij67890","filename":"AuthKey_X.p8"}}`,
			func(c *Config) {
				c.APNs = APNs{Enabled: true, TeamID: new("ABCDE12345"), AuthKeyID: new("fghij67890"), Filename: new("AuthKey_X.p8")}
			}},
		{"apns.enabled alone", testFullConfig(), `{"apns":{"enabled":true}}`, func(c *Config) { c.APNs.Enabled = true }},
		{"apns.teamId", testBareConfig(), `{"apns":{"teamId":"ABCDE12345"}}`, func(c *Config) { c.APNs.TeamID = new("ABCDE12345") }},
		{"apns.authKeyId", testBareConfig(), `{"apns":{"authKeyId":"ABCDE12345"}}`, func(c *Config) { c.APNs.AuthKeyID = new("ABCDE12345") }},
		{"apns.filename", testBareConfig(), `{"apns":{"filename":"k.p8"}}`, func(c *Config) { c.APNs.Filename = new("k.p8") }},
		{"fcm.filename", testBareConfig(), `{"fcm":{"filename":"service-account.json"}}`, func(c *Config) { c.FCM.Filename = new("service-account.json") }},
		{"messagePersistence.enabled with its retention", testBareConfig(), `{"messagePersistence":{"enabled":true,"retention":1}}`,
			func(c *Config) { c.MessagePersistence.Enabled, c.MessagePersistence.Retention = true, new(1) }},
		{"messagePersistence.enabled alone", testFullConfig(), `{"messagePersistence":{"enabled":true}}`, func(c *Config) { c.MessagePersistence.Enabled = true }},
		{"messagePersistence.includePresenceEvents", testBareConfig(), `{"messagePersistence":{"includePresenceEvents":true}}`, func(c *Config) { c.MessagePersistence.IncludePresenceEvents = true }},
		{"messagePersistence.deleteFromHistory", testBareConfig(), `{"messagePersistence":{"deleteFromHistory":true}}`, func(c *Config) { c.MessagePersistence.DeleteFromHistory = true }},
		{"messagePersistence.retention", testBareConfig(), `{"messagePersistence":{"retention":180}}`, func(c *Config) { c.MessagePersistence.Retention = new(180) }},
		{"presence.enabled", testBareConfig(), `{"presence":{"enabled":false}}`, func(c *Config) { c.Presence.Enabled = false }},
		{"presence.deltas", testBareConfig(), `{"presence":{"deltas":true}}`, func(c *Config) { c.Presence.Deltas = true }},
		{"presence.generateLeaveOnDisconnect", testBareConfig(), `{"presence":{"generateLeaveOnDisconnect":true}}`, func(c *Config) { c.Presence.GenerateLeaveOnDisconnect = true }},
		{"presence.streamFiltering", testBareConfig(), `{"presence":{"streamFiltering":true}}`, func(c *Config) { c.Presence.StreamFiltering = true }},
		{"presence.activeNoticeChannel", testBareConfig(), `{"presence":{"activeNoticeChannel":"room.notices"}}`, func(c *Config) { c.Presence.ActiveNoticeChannel = new("room.notices") }},
		{"presence.announceMax", testBareConfig(), `{"presence":{"announceMax":0}}`, func(c *Config) { c.Presence.AnnounceMax = 0 }},
		{"presence.interval", testBareConfig(), `{"presence":{"interval":300}}`, func(c *Config) { c.Presence.Interval = 300 }},
		{"presence.debounce", testBareConfig(), `{"presence":{"debounce":0}}`, func(c *Config) { c.Presence.Debounce = 0 }},
		{"same value again", testFullConfig(), `{"files":{"region":"eu-central-1","retention":7},"presence":{"interval":10}}`, func(c *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.base
			tt.change(&want)
			got := mustApplyConfigJSON(t, tt.base, tt.patch)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Apply(%s) (-want +got):\n%s", tt.patch, diff)
			}
		})
	}
}

func TestConfigApplyEveryField(t *testing.T) {
	full := testFullConfig()
	got := mustApplyConfigJSON(t, full, `{
		"accessManager": {"enabled": true, "tokenRevoke": true},
		"files": {"enabled": true, "retention": 30, "region": "eu-central-1"},
		"streamController": {"enabled": false, "wildcardSubscribe": false, "channelGroupLimit": 5},
		"appContext": {"enabled": true, "userMetadataEvents": false, "channelMetadataEvents": false, "membershipEvents": false,
			"disallowGetAllChannelMetadata": true, "disallowGetAllUserMetadata": true, "referentialIntegrity": false, "region": "aws-fra-1"},
		"dataSync": {"enabled": true, "region": "aws-pdx-1"},
		"apns": {"enabled": true, "teamId": "ZZZZZ99999", "authKeyId": "YYYYY88888", "filename": "other.p8"},
		"fcm": {"filename": null},
		"messagePersistence": {"enabled": true, "includePresenceEvents": true, "deleteFromHistory": true, "retention": 0},
		"presence": {"enabled": false, "deltas": true, "generateLeaveOnDisconnect": true, "streamFiltering": true,
			"activeNoticeChannel": "other", "announceMax": 0, "interval": 300, "debounce": 0}
	}`)
	want := Config{
		AccessManager:    AccessManager{Enabled: true, TokenRevoke: true},
		Files:            Files{Enabled: true, Retention: new(30), Region: new("eu-central-1")},
		StreamController: StreamController{ChannelGroupLimit: 5},
		AppContext: AppContext{Enabled: true, DisallowGetAllChannelMetadata: true, DisallowGetAllUserMetadata: true,
			Region: new("aws-fra-1")},
		DataSync:           DataSync{Enabled: true, Region: new("aws-pdx-1")},
		APNs:               APNs{Enabled: true, TeamID: new("ZZZZZ99999"), AuthKeyID: new("YYYYY88888"), Filename: new("other.p8")},
		FCM:                FCM{},
		MessagePersistence: MessagePersistence{Enabled: true, IncludePresenceEvents: true, DeleteFromHistory: true, Retention: new(0)},
		Presence: Presence{Deltas: true, GenerateLeaveOnDisconnect: true, StreamFiltering: true,
			ActiveNoticeChannel: new("other"), AnnounceMax: 0, Interval: 300, Debounce: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(testFullConfig(), full); diff != "" {
		t.Errorf("Apply changed its receiver (-before +after):\n%s", diff)
	}
}

// TestConfigApplyValueRules tries, for every field with a rule, allowed
// values (the bounds among them), values just outside, wrong JSON types
// and null.
func TestConfigApplyValueRules(t *testing.T) {
	q := strconv.Quote
	retention := "must be one of 0, 1, 7, 30, 90, 180, 365"
	filesRegion := "must be one of us-east-1, us-west-1, eu-central-1, ap-south-1, ap-northeast-1"
	contextRegion := "must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1"
	appleID := "must be 10 letters or digits"
	filename := `must be 1 to 255 characters without / or \`
	wrongTypes := map[string][]string{ // by the word that refuses them
		"an integer": {`"10"`, `10.5`, `1e1`, `true`, `{}`, `[]`},
		"a string":   {`5`, `true`, `["a"]`, `{}`},
	}
	tests := []struct {
		path     string
		allowed  []string // JSON literals
		refused  []string
		message  string // for each refused value
		word     string // what the field's JSON type is
		nullable bool
	}{
		{"files.retention", []string{`0`, `1`, `7`, `30`, `90`, `180`, `365`}, []string{`-1`, `2`, `364`, `366`}, retention, "an integer", true},
		{"messagePersistence.retention", []string{`0`, `1`, `7`, `30`, `90`, `180`, `365`}, []string{`-1`, `2`, `366`}, retention, "an integer", true},
		{"files.region", []string{`"us-east-1"`, `"us-west-1"`, `"eu-central-1"`, `"ap-south-1"`, `"ap-northeast-1"`},
			[]string{`""`, `"US-EAST-1"`, `"us-east-1 "`, `"aws-iad-1"`, q(strings.Repeat("x", 100000))}, filesRegion, "a string", true},
		{"appContext.region", []string{`"aws-iad-1"`, `"aws-pdx-1"`, `"aws-fra-1"`, `"aws-bom-1"`, `"aws-hnd-1"`},
			[]string{`""`, `"aws-iad-2"`, `"us-east-1"`}, contextRegion, "a string", true},
		{"dataSync.region", []string{`"aws-iad-1"`, `"aws-pdx-1"`, `"aws-fra-1"`, `"aws-bom-1"`, `"aws-hnd-1"`},
			[]string{`""`, `"AWS-IAD-1"`, `"eu-central-1"`}, contextRegion, "a string", true},
		{"streamController.channelGroupLimit", []string{`1`, `100`, `2000`}, []string{`0`, `2001`, `-1`}, "must be between 1 and 2000", "an integer", false},
		{"presence.announceMax", []string{`0`, `100`}, []string{`-1`, `101`}, "must be between 0 and 100", "an integer", false},
		{"presence.interval", []string{`10`, `300`}, []string{`9`, `301`, `0`}, "must be between 10 and 300", "an integer", false},
		{"presence.debounce", []string{`0`, `300`}, []string{`-1`, `301`}, "must be between 0 and 300", "an integer", false},
		{"apns.teamId", []string{`"ABCDE12345"`, `"abcde12345"`, `"0123456789"`},
			[]string{`""`, `"ABCDE1234"`, `"ABCDE123456"`, `"ABCDE-2345"`, `"ÄBCDE12345"`, `"ABCDE1234\n"`}, appleID, "a string", true},
		{"apns.authKeyId", []string{`"ABCDE12345"`}, []string{`"ABCDE1234"`, `"ABCDE123456"`, `"ABCDE_2345"`}, appleID, "a string", true},
		{"apns.filename", []string{`"a"`, `"AuthKey_ABC.p8"`, q(strings.Repeat("é", 255))},
			[]string{`""`, q(strings.Repeat("x", 256)), `"keys/a.p8"`, `"keys\\a.p8"`}, filename, "a string", true},
		{"fcm.filename", []string{`"a"`, q(strings.Repeat("x", 255))}, []string{`""`, q(strings.Repeat("é", 256)), `"/a.json"`, `"a\\"`}, filename, "a string", true},
		{"presence.activeNoticeChannel", []string{`"a"`, `"room.notices-1"`, q(strings.Repeat("c", 92))},
			[]string{`""`, q(strings.Repeat("c", 93)), `"a b"`, `"a,b"`, `"a\tb"`, `"a\u00a0b"`},
			"must be 1 to 92 characters without spaces or commas", "a string", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			section, field, _ := strings.Cut(tt.path, ".")
			base := testBareConfig()
			check := func(literal string, got Config) {
				t.Helper()
				var v any
				if err := json.Unmarshal([]byte(literal), &v); err != nil {
					t.Fatal(err)
				}
				want := configJSON(t, base)
				want[section][field] = v
				if diff := cmp.Diff(want, configJSON(t, got)); diff != "" {
					t.Errorf("Apply(%s) (-want +got):\n%s", fieldPatch(tt.path, literal), diff)
				}
			}
			for _, lit := range tt.allowed {
				check(lit, mustApplyConfigJSON(t, base, fieldPatch(tt.path, lit)))
			}
			for _, lit := range tt.refused {
				_, err := applyConfigJSON(base, fieldPatch(tt.path, lit))
				checkConfigMessages(t, err, []string{tt.path + ": " + tt.message})
			}
			word := "must be " + tt.word
			for _, lit := range wrongTypes[tt.word] {
				_, err := ParseConfigPatch([]byte(fieldPatch(tt.path, lit)))
				checkConfigMessages(t, err, []string{tt.path + ": " + word})
			}
			got, err := applyConfigJSON(base, fieldPatch(tt.path, "null"))
			if tt.nullable {
				if err != nil {
					t.Fatalf("null: %v", err)
				}
				check("null", got)
			} else {
				checkConfigMessages(t, err, []string{tt.path + ": " + word})
			}
		})
	}
}

// TestConfigApplyNullWhereNoNull sends null to each field that has no null
// (every bool and int), which must be refused naming the field.
func TestConfigApplyNullWhereNoNull(t *testing.T) {
	for section, fields := range configJSON(t, testBareConfig()) {
		for field, v := range fields {
			path := section + "." + field
			var word string
			switch v.(type) {
			case bool:
				word = "a boolean"
			case float64:
				word = "an integer"
			default:
				continue // nullable
			}
			_, err := applyConfigJSON(testFullConfig(), fieldPatch(path, "null"))
			checkConfigMessages(t, err, []string{path + ": must be " + word})
		}
	}
}

func TestConfigApplyClearsNullableFields(t *testing.T) {
	for path, value := range map[string]string{
		"files.retention":              `30`,
		"apns.teamId":                  `"ABCDE12345"`,
		"apns.authKeyId":               `"ABCDE12345"`,
		"apns.filename":                `"k.p8"`,
		"fcm.filename":                 `"k.json"`,
		"messagePersistence.retention": `0`,
		"presence.activeNoticeChannel": `"n"`,
	} {
		got := mustApplyConfigJSON(t, testBareConfig(), fieldPatch(path, value), fieldPatch(path, "null"))
		if diff := cmp.Diff(testBareConfig(), got); diff != "" {
			t.Errorf("%s set then cleared (-want +got):\n%s", path, diff)
		}
	}
}

func TestConfigApplyEnablingRules(t *testing.T) {
	enabled := mustApplyConfigJSON(t, testFullConfig(),
		`{"files":{"enabled":true},"appContext":{"enabled":true},"dataSync":{"enabled":true},"apns":{"enabled":true},"messagePersistence":{"enabled":true}}`)
	tests := []struct {
		name    string
		base    Config
		patches []string
		want    []string // nil: accepted
	}{
		{"files alone", testBareConfig(), []string{`{"files":{"enabled":true}}`},
			[]string{"files.region: required when files are enabled", "files.retention: required when files are enabled"}},
		{"files without retention", testBareConfig(), []string{`{"files":{"enabled":true,"region":"us-east-1"}}`},
			[]string{"files.retention: required when files are enabled"}},
		{"files with null retention", testBareConfig(), []string{`{"files":{"enabled":true,"region":"us-east-1","retention":null}}`},
			[]string{"files.retention: required when files are enabled"}},
		{"appContext alone", testBareConfig(), []string{`{"appContext":{"enabled":true}}`},
			[]string{"appContext.region: required when appContext is enabled"}},
		{"dataSync alone", testBareConfig(), []string{`{"dataSync":{"enabled":true}}`},
			[]string{"dataSync.region: required when dataSync is enabled"}},
		{"messagePersistence alone", testBareConfig(), []string{`{"messagePersistence":{"enabled":true}}`},
			[]string{"messagePersistence.retention: required when messagePersistence is enabled"}},
		{"apns alone", testBareConfig(), []string{`{"apns":{"enabled":true}}`},
			[]string{"apns.teamId: required when apns is enabled", "apns.authKeyId: required when apns is enabled", "apns.filename: required when apns is enabled"}},
		{"apns with a team id only", testBareConfig(), []string{`{"apns":{"enabled":true,"teamId":"ABCDE12345"}}`},
			[]string{"apns.authKeyId: required when apns is enabled", "apns.filename: required when apns is enabled"}},
		{"a bad value is reported, not as missing", testBareConfig(), []string{`{"files":{"enabled":true,"region":"mars","retention":7}}`},
			[]string{"files.region: must be one of us-east-1, us-west-1, eu-central-1, ap-south-1, ap-northeast-1"}},
		{"needs given in earlier patches count", testBareConfig(), []string{
			`{"files":{"region":"us-east-1"},"appContext":{"region":"aws-iad-1"}}`,
			`{"files":{"retention":7},"dataSync":{"region":"aws-iad-1"},"messagePersistence":{"retention":7}}`,
			`{"apns":{"teamId":"ABCDE12345","authKeyId":"ABCDE12345","filename":"k.p8"}}`,
			`{"files":{"enabled":true},"appContext":{"enabled":true},"dataSync":{"enabled":true},"messagePersistence":{"enabled":true},"apns":{"enabled":true}}`,
		}, nil},
		{"clearing a need of an enabled feature", enabled, []string{`{"messagePersistence":{"retention":null},"apns":{"filename":null}}`},
			[]string{"apns.filename: required when apns is enabled", "messagePersistence.retention: required when messagePersistence is enabled"}},
		{"disabling and clearing at once", enabled, []string{`{"messagePersistence":{"enabled":false,"retention":null},"files":{"enabled":false,"retention":null}}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				mustApplyConfigJSON(t, tt.base, tt.patches...)
				return
			}
			_, err := applyConfigJSON(tt.base, tt.patches...)
			checkConfigMessages(t, err, tt.want)
		})
	}
}

func TestConfigApplyRegionsAreWriteOnce(t *testing.T) {
	set := testFullConfig() // files eu-central-1, appContext aws-fra-1, dataSync aws-pdx-1
	for _, tt := range []struct{ path, same, other string }{
		{"files.region", `"eu-central-1"`, `"us-east-1"`},
		{"appContext.region", `"aws-fra-1"`, `"aws-iad-1"`},
		{"dataSync.region", `"aws-pdx-1"`, `"aws-iad-1"`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := mustApplyConfigJSON(t, set, fieldPatch(tt.path, tt.same)); !cmp.Equal(set, got) {
				t.Errorf("sending the same region changed the config: %s", cmp.Diff(set, got))
			}
			for _, lit := range []string{tt.other, `null`, `"mars"`} {
				_, err := applyConfigJSON(set, fieldPatch(tt.path, lit))
				checkConfigMessages(t, err, []string{tt.path + ": cannot be changed once set"})
			}
			// Unset, null is harmless; once set by a patch, the region stays.
			mustApplyConfigJSON(t, testBareConfig(), fieldPatch(tt.path, "null"))
			_, err := applyConfigJSON(testBareConfig(), fieldPatch(tt.path, tt.same), fieldPatch(tt.path, tt.other))
			checkConfigMessages(t, err, []string{tt.path + ": cannot be changed once set"})
		})
	}
}

func TestConfigApplyListsEveryProblem(t *testing.T) {
	_, err := applyConfigJSON(testFullConfig(), `{
		"files": {"region": "us-west-1", "retention": 5, "enabled": true},
		"presence": {"interval": null, "announceMax": 101},
		"apns": {"enabled": true, "teamId": null}
	}`)
	checkConfigMessages(t, err, []string{
		"files.region: cannot be changed once set",
		"presence.interval: must be an integer",
		"files.retention: must be one of 0, 1, 7, 30, 90, 180, 365",
		"presence.announceMax: must be between 0 and 100",
		"apns.teamId: required when apns is enabled",
	})
}

func TestParseConfigPatchRefuses(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"empty body", ``, []string{"body: required"}},
		{"not an object", `[]`, []string{"body: must be a JSON object"}},
		{"unknown section", `{"presense":{"enabled":true}}`, []string{"presense: unknown field"}},
		{"names are exact", `{"Presence":{},"files":{"Enabled":true}}`, []string{"Presence: unknown field", "files.Enabled: unknown field"}},
		{"unknown field in a section", `{"presence":{"enabeld":true}}`, []string{"presence.enabeld: unknown field"}},
		{"every unknown field", `{"foo":1,"presence":{"a":1,"interval":10,"b":2},"files":{"c":true}}`,
			[]string{"foo: unknown field", "presence.a: unknown field", "presence.b: unknown field", "files.c: unknown field"}},
		{"section null", `{"presence":null}`, []string{"presence: must be an object"}},
		{"sections not objects", `{"presence":[],"files":true,"apns":"x","fcm":1}`,
			[]string{"presence: must be an object", "files: must be an object", "apns: must be an object", "fcm: must be an object"}},
		{"wrong types and unknown fields together", `{"presence":{"interval":"10","x":1,"deltas":1},"files":{"region":7}}`,
			[]string{"presence.interval: must be an integer", "presence.x: unknown field", "presence.deltas: must be a boolean", "files.region: must be a string"}},
		{"repeated field", `{"presence":{"interval":10,"interval":20}}`, []string{"presence.interval: duplicate field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfigPatch([]byte(tt.body))
			checkConfigMessages(t, err, tt.want)
		})
	}
}

func TestConfigApplyKeepsReceiver(t *testing.T) {
	c := testFullConfig()
	retention, region := c.Files.Retention, c.Files.Region
	before := configJSON(t, c)
	for _, body := range []string{
		`{"files":{"retention":365,"region":null},"presence":{"activeNoticeChannel":"x","interval":20},"fcm":{"filename":null}}`,
		`{"files":{"retention":90},"messagePersistence":{"retention":null},"apns":{"teamId":"ZZZZZ99999"}}`,
		`{"files":{"retention":1},"presence":{"interval":5}}`,
	} {
		p, err := ParseConfigPatch([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Apply(p) // accepted or not, the receiver must stay as it was
	}
	if diff := cmp.Diff(before, configJSON(t, c)); diff != "" {
		t.Errorf("Apply changed its receiver (-before +after):\n%s", diff)
	}
	if c.Files.Retention != retention || *retention != 7 || c.Files.Region != region || *region != "eu-central-1" {
		t.Errorf("Apply wrote through the receiver's pointers")
	}
}

func TestConfigValidate(t *testing.T) {
	checkConfigMessages(t, Config{}.Validate(), []string{
		"streamController.channelGroupLimit: must be between 1 and 2000",
		"presence.interval: must be between 10 and 300",
	})
	bad := testBareConfig()
	bad.Files = Files{Enabled: true, Retention: new(2), Region: new("mars")}
	bad.StreamController.ChannelGroupLimit = 2001
	bad.AppContext.Enabled = true
	bad.DataSync.Region = new("us-east-1")
	bad.APNs = APNs{Enabled: true, TeamID: new("short"), Filename: new("a/b")}
	bad.FCM.Filename = new("")
	bad.MessagePersistence.Enabled = true
	bad.Presence.ActiveNoticeChannel = new("a,b")
	bad.Presence.AnnounceMax, bad.Presence.Interval, bad.Presence.Debounce = 101, 9, -1
	checkConfigMessages(t, bad.Validate(), []string{
		"files.retention: must be one of 0, 1, 7, 30, 90, 180, 365",
		"files.region: must be one of us-east-1, us-west-1, eu-central-1, ap-south-1, ap-northeast-1",
		"streamController.channelGroupLimit: must be between 1 and 2000",
		"dataSync.region: must be one of aws-iad-1, aws-pdx-1, aws-fra-1, aws-bom-1, aws-hnd-1",
		"apns.teamId: must be 10 letters or digits",
		`apns.filename: must be 1 to 255 characters without / or \`,
		`fcm.filename: must be 1 to 255 characters without / or \`,
		"presence.activeNoticeChannel: must be 1 to 92 characters without spaces or commas",
		"presence.announceMax: must be between 0 and 100",
		"presence.interval: must be between 10 and 300",
		"presence.debounce: must be between 0 and 300",
		"appContext.region: required when appContext is enabled",
		"apns.authKeyId: required when apns is enabled",
		"messagePersistence.retention: required when messagePersistence is enabled",
	})
}

func TestParseStoredConfig(t *testing.T) {
	stored, err := json.Marshal(testFullConfig())
	if err != nil {
		t.Fatal(err)
	}
	old := testBareConfig()
	old.Presence.Interval = 30
	old.Files = Files{Enabled: true, Retention: new(7), Region: new("us-east-1")}
	tests := []struct {
		name, data string
		want       Config
	}{
		{"round trip", string(stored), testFullConfig()},
		{"empty row takes defaults", `{}`, testBareConfig()},
		{"missing fields take defaults", `{"presence":{"interval":30},"files":{"enabled":true,"region":"us-east-1","retention":7}}`, old},
		{"unknown fields are ignored", `{"legacy":1,"presence":{"enableLegacyStuff":true}}`, testBareConfig()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStoredConfig([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, data := range []string{``, `{`, `{"presence":{"interval":"x"}}`} {
		if _, err := ParseStoredConfig([]byte(data)); err == nil || ErrorCode(err) != CodeInternal {
			t.Errorf("ParseStoredConfig(%q) = %v, want an internal error", data, err)
		}
	}
}

func FuzzConfigApply(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"presence":{"interval":10,"debounce":null,"activeNoticeChannel":"a b"}}`,
		`{"files":{"enabled":true,"region":"us-east-1","retention":7}}`,
		`{"files":{"region":null},"appContext":{"region":"aws-iad-1","enabled":true}}`,
		`{"apns":{"enabled":true,"teamId":"ABCDE12345","authKeyId":"ABCDE12345","filename":"a.p8"},"fcm":{"filename":null}}`,
		`{"messagePersistence":{"retention":1e2},"streamController":{"channelGroupLimit":-0}}`,
		`{"presence":null,"x":{"y":[1,{"z":null}]}}`,
		`{"dataSync":{"enabled":true,"region":"aws-pdx-1","region":"aws-iad-1"}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, base := range []Config{testBareConfig(), testFullConfig()} {
			before := configJSON(t, base)
			p, err := ParseConfigPatch([]byte(body))
			if err == nil {
				var got Config
				if got, err = base.Apply(p); err == nil {
					if verr := got.Validate(); verr != nil {
						t.Fatalf("Apply(%s) = a config that fails Validate: %v", body, verr)
					}
				}
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalid || len(e.Messages) == 0 || len(e.Messages) > maxBodyProblems+1 {
					t.Fatalf("%s: error %#v, want a CodeInvalid *Error with 1 to %d messages", body, err, maxBodyProblems+1)
				}
				for _, m := range e.Messages {
					if len(m) > 300 {
						t.Fatalf("%s: message too long (%d bytes): %q", body, len(m), m)
					}
				}
			}
			if diff := cmp.Diff(before, configJSON(t, base)); diff != "" {
				t.Fatalf("Apply(%s) changed its receiver:\n%s", body, diff)
			}
		}
	})
}

// DescribeConfig names every section of Config, and every note it gives
// belongs to a field that exists.
func TestDescribeConfig(t *testing.T) {
	d := DescribeConfig()
	ct := reflect.TypeFor[Config]()
	fields := map[string]bool{}
	for i := range ct.NumField() {
		sec := ct.Field(i)
		if !strings.Contains(d, jsonName(sec)+" {") {
			t.Errorf("section %s missing from %q", jsonName(sec), d)
		}
		for j := range sec.Type.NumField() {
			fields[jsonName(sec)+"."+jsonName(sec.Type.Field(j))] = true
		}
	}
	for path := range configNotes {
		if !fields[path] {
			t.Errorf("a note for %s, which Config does not have", path)
		}
	}
	for _, want := range []string{"presence {enabled", "interval (seconds, 10-300)", "files {enabled, retention (days: 0, 1, 7, 30, 90, 180, 365 (0 = unlimited); required when enabling)", "dataSync {", "apns {", "fcm {filename}"} {
		if !strings.Contains(d, want) {
			t.Errorf("DescribeConfig() lacks %q:\n%s", want, d)
		}
	}
}

// ConfigRuleOf offers exactly what Apply accepts: every choice and both
// ends of a range pass, a value beside them fails, and a write-once field
// refuses a change once set.
func TestConfigRuleOfMatchesValidation(t *testing.T) {
	patch := func(path, raw string) string {
		sec, field, _ := strings.Cut(path, ".")
		return `{"` + sec + `":{"` + field + `":` + raw + `}}`
	}
	quote := func(rule ConfigRule, v string) string {
		if rule.Unit == "days" {
			return v // a retention is a number
		}
		return strconv.Quote(v)
	}
	ruled := 0
	for _, path := range configFieldPaths() {
		rule := ConfigRuleOf(path)
		if rule.Choices == nil && !rule.HasRange {
			if rule.WriteOnce || rule.Unit != "" {
				t.Errorf("%s: a unit or write-once without a rule", path)
			}
			continue
		}
		ruled++
		for _, c := range rule.Choices {
			if _, err := applyConfigJSON(testBareConfig(), patch(path, quote(rule, c.Value))); err != nil {
				t.Errorf("%s = %s offered but refused: %v", path, c.Value, err)
			}
			if c.Label == "" {
				t.Errorf("%s = %s has no label", path, c.Value)
			}
		}
		if rule.Choices != nil {
			if _, err := applyConfigJSON(testBareConfig(), patch(path, quote(rule, "2"))); err == nil {
				t.Errorf("%s = 2 not offered but accepted", path)
			}
		}
		if rule.HasRange {
			for _, v := range []int{rule.Min, rule.Max} {
				if _, err := applyConfigJSON(testBareConfig(), patch(path, strconv.Itoa(v))); err != nil {
					t.Errorf("%s = %d is in range but refused: %v", path, v, err)
				}
			}
			for _, v := range []int{rule.Min - 1, rule.Max + 1} {
				if _, err := applyConfigJSON(testBareConfig(), patch(path, strconv.Itoa(v))); err == nil {
					t.Errorf("%s = %d is out of range but accepted", path, v)
				}
			}
		}
		if rule.WriteOnce {
			a, b := rule.Choices[0].Value, rule.Choices[1].Value
			if _, err := applyConfigJSON(testBareConfig(), patch(path, quote(rule, a)), patch(path, quote(rule, b))); err == nil {
				t.Errorf("%s changed from %s to %s", path, a, b)
			}
		}
	}
	if ruled != 9 {
		t.Errorf("%d fields have a rule, want 9", ruled)
	}
}

// configFieldPaths names every field of Config as "section.field".
func configFieldPaths() []string {
	var out []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		for j := range sec.Type.NumField() {
			out = append(out, jsonName(sec)+"."+jsonName(sec.Type.Field(j)))
		}
	}
	return out
}
