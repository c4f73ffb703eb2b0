package keyplane

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Config is a keyset's full feature configuration, as answered by GET /v2/keysets/{id}/config.
// Every field is always present on the wire; a nil pointer is a choice not
// made yet (no region, no retention, no credentials) and is sent as null.
type Config struct {
	AccessManager      AccessManager      `json:"accessManager"`
	Files              Files              `json:"files"`
	StreamController   StreamController   `json:"streamController"`
	AppContext         AppContext         `json:"appContext"`
	DataSync           DataSync           `json:"dataSync"`
	APNs               APNs               `json:"apns"`
	FCM                FCM                `json:"fcm"`
	MessagePersistence MessagePersistence `json:"messagePersistence"`
	Presence           Presence           `json:"presence"`
}

// AccessManager is the Access Manager section of a Config.
type AccessManager struct {
	Enabled     bool `json:"enabled"`
	TokenRevoke bool `json:"tokenRevoke"`
}

// Files is the File Sharing section of a Config. Retention is in days, 0
// meaning unlimited. Region is write-once: stored files do not move.
type Files struct {
	Enabled   bool    `json:"enabled"`
	Retention *int    `json:"retention"`
	Region    *string `json:"region"`
}

// StreamController is the Stream Controller section of a Config.
type StreamController struct {
	Enabled           bool `json:"enabled"`
	WildcardSubscribe bool `json:"wildcardSubscribe"`
	ChannelGroupLimit int  `json:"channelGroupLimit"`
}

// AppContext is the App Context section of a Config. Region is write-once:
// stored metadata does not move.
type AppContext struct {
	Enabled                       bool    `json:"enabled"`
	UserMetadataEvents            bool    `json:"userMetadataEvents"`
	ChannelMetadataEvents         bool    `json:"channelMetadataEvents"`
	MembershipEvents              bool    `json:"membershipEvents"`
	DisallowGetAllChannelMetadata bool    `json:"disallowGetAllChannelMetadata"`
	DisallowGetAllUserMetadata    bool    `json:"disallowGetAllUserMetadata"`
	ReferentialIntegrity          bool    `json:"referentialIntegrity"`
	Region                        *string `json:"region"`
}

// DataSync is the DataSync section of a Config. Region is write-once.
type DataSync struct {
	Enabled bool    `json:"enabled"`
	Region  *string `json:"region"`
}

// APNs is the Apple push section of a Config: the metadata of the
// credentials only, never the token itself.
type APNs struct {
	Enabled   bool    `json:"enabled"`
	TeamID    *string `json:"teamId"`
	AuthKeyID *string `json:"authKeyId"`
	Filename  *string `json:"filename"`
}

// FCM is the Firebase push section of a Config. PubNub gives it no enabled
// flag, so neither do we.
type FCM struct {
	Filename *string `json:"filename"`
}

// MessagePersistence is the Message Persistence section of a Config.
// Retention is in days, 0 meaning unlimited.
type MessagePersistence struct {
	Enabled               bool `json:"enabled"`
	IncludePresenceEvents bool `json:"includePresenceEvents"`
	DeleteFromHistory     bool `json:"deleteFromHistory"`
	Retention             *int `json:"retention"`
}

// Presence is the Presence section of a Config. Interval and Debounce are
// in seconds.
type Presence struct {
	Enabled                   bool    `json:"enabled"`
	Deltas                    bool    `json:"deltas"`
	GenerateLeaveOnDisconnect bool    `json:"generateLeaveOnDisconnect"`
	StreamFiltering           bool    `json:"streamFiltering"`
	ActiveNoticeChannel       *string `json:"activeNoticeChannel"`
	AnnounceMax               int     `json:"announceMax"`
	Interval                  int     `json:"interval"`
	Debounce                  int     `json:"debounce"`
}

// DefaultConfig returns the configuration of a keyset created without one:
// PubNub's. PubNub's own MCP server (@pubnub/mcp) says in its
// manage_keysets tool that a new keyset has Message Persistence, App
// Context, Files and Presence enabled, and its fixtures of the real API's
// answer to POST /v2/keysets give the rest: both retentions 7 days, App
// Context in aws-iad-1 with referential integrity off, Files in us-east-1.
// Keyplane matches it so that a script written against PubNub finds the
// same keyset here (README, "Keyset configuration defaults"). Every other
// section that needs a choice (DataSync's region, APNs credentials) starts
// off. A keyset made with a partial config starts from this too, through
// NewConfig.
func DefaultConfig() Config {
	return Config{
		Files:            Files{Enabled: true, Retention: new(7), Region: new("us-east-1")},
		StreamController: StreamController{Enabled: true, WildcardSubscribe: true, ChannelGroupLimit: 100},
		AppContext: AppContext{
			Enabled: true, Region: new("aws-iad-1"),
			UserMetadataEvents: true, ChannelMetadataEvents: true, MembershipEvents: true,
		},
		MessagePersistence: MessagePersistence{Enabled: true, Retention: new(7)},
		Presence:           Presence{Enabled: true, AnnounceMax: 20, Interval: 10, Debounce: 2},
	}
}

// NewConfig returns the configuration of a keyset created with the partial
// config p: DefaultConfig with p applied, so that the sections and fields p
// leaves out keep PubNub's defaults. Two things differ from a PATCH of a
// stored keyset, because nothing is stored yet. A region in p replaces the
// default one: the write-once rule keeps stored data where it is, and
// there is none. And a feature p turns off (Files, App Context) without
// naming a region is left with none: a default region on a feature never
// enabled would otherwise be locked in by the write-once rule, and the
// caller could not choose another when enabling it later.
func NewConfig(p ConfigPatch) (Config, error) {
	base := DefaultConfig()
	filesRegion := p.Files != nil && p.Files.Region.Set
	contextRegion := p.AppContext != nil && p.AppContext.Region.Set
	if filesRegion {
		base.Files.Region = nil
	}
	if contextRegion {
		base.AppContext.Region = nil
	}
	c, err := base.Apply(p)
	if err != nil {
		return Config{}, err
	}
	if !c.Files.Enabled && !filesRegion {
		c.Files.Region = nil
	}
	if !c.AppContext.Enabled && !contextRegion {
		c.AppContext.Region = nil
	}
	return c, nil
}

// ConfigPatch is the body of PATCH /v2/keysets/{id}/config, and the
// optional config of a new keyset: only what it mentions changes. Sections
// left out are nil; within a section, each field is an Opt, so that null
// (clear a nullable field) differs from leaving the field out.
type ConfigPatch struct {
	AccessManager      *AccessManagerPatch      `json:"accessManager"`
	Files              *FilesPatch              `json:"files"`
	StreamController   *StreamControllerPatch   `json:"streamController"`
	AppContext         *AppContextPatch         `json:"appContext"`
	DataSync           *DataSyncPatch           `json:"dataSync"`
	APNs               *APNsPatch               `json:"apns"`
	FCM                *FCMPatch                `json:"fcm"`
	MessagePersistence *MessagePersistencePatch `json:"messagePersistence"`
	Presence           *PresencePatch           `json:"presence"`
}

// AccessManagerPatch changes an AccessManager section.
type AccessManagerPatch struct {
	Enabled     Opt[bool] `json:"enabled"`
	TokenRevoke Opt[bool] `json:"tokenRevoke"`
}

// FilesPatch changes a Files section.
type FilesPatch struct {
	Enabled   Opt[bool]   `json:"enabled"`
	Retention Opt[int]    `json:"retention"`
	Region    Opt[string] `json:"region"`
}

// StreamControllerPatch changes a StreamController section.
type StreamControllerPatch struct {
	Enabled           Opt[bool] `json:"enabled"`
	WildcardSubscribe Opt[bool] `json:"wildcardSubscribe"`
	ChannelGroupLimit Opt[int]  `json:"channelGroupLimit"`
}

// AppContextPatch changes an AppContext section.
type AppContextPatch struct {
	Enabled                       Opt[bool]   `json:"enabled"`
	UserMetadataEvents            Opt[bool]   `json:"userMetadataEvents"`
	ChannelMetadataEvents         Opt[bool]   `json:"channelMetadataEvents"`
	MembershipEvents              Opt[bool]   `json:"membershipEvents"`
	DisallowGetAllChannelMetadata Opt[bool]   `json:"disallowGetAllChannelMetadata"`
	DisallowGetAllUserMetadata    Opt[bool]   `json:"disallowGetAllUserMetadata"`
	ReferentialIntegrity          Opt[bool]   `json:"referentialIntegrity"`
	Region                        Opt[string] `json:"region"`
}

// DataSyncPatch changes a DataSync section.
type DataSyncPatch struct {
	Enabled Opt[bool]   `json:"enabled"`
	Region  Opt[string] `json:"region"`
}

// APNsPatch changes an APNs section.
type APNsPatch struct {
	Enabled   Opt[bool]   `json:"enabled"`
	TeamID    Opt[string] `json:"teamId"`
	AuthKeyID Opt[string] `json:"authKeyId"`
	Filename  Opt[string] `json:"filename"`
}

// FCMPatch changes an FCM section.
type FCMPatch struct {
	Filename Opt[string] `json:"filename"`
}

// MessagePersistencePatch changes a MessagePersistence section.
type MessagePersistencePatch struct {
	Enabled               Opt[bool] `json:"enabled"`
	IncludePresenceEvents Opt[bool] `json:"includePresenceEvents"`
	DeleteFromHistory     Opt[bool] `json:"deleteFromHistory"`
	Retention             Opt[int]  `json:"retention"`
}

// PresencePatch changes a Presence section.
type PresencePatch struct {
	Enabled                   Opt[bool]   `json:"enabled"`
	Deltas                    Opt[bool]   `json:"deltas"`
	GenerateLeaveOnDisconnect Opt[bool]   `json:"generateLeaveOnDisconnect"`
	StreamFiltering           Opt[bool]   `json:"streamFiltering"`
	ActiveNoticeChannel       Opt[string] `json:"activeNoticeChannel"`
	AnnounceMax               Opt[int]    `json:"announceMax"`
	Interval                  Opt[int]    `json:"interval"`
	Debounce                  Opt[int]    `json:"debounce"`
}

// ParseConfigPatch decodes a config PATCH body with DecodeJSON, so unknown
// fields anywhere, wrong types and a section sent as null are all refused.
// Value rules are checked by Config.Apply, which sees the merged result.
func ParseConfigPatch(data []byte) (ConfigPatch, error) {
	var p ConfigPatch
	if err := DecodeJSON(data, &p); err != nil {
		return ConfigPatch{}, err
	}
	return p, nil
}

// bareConfig is DefaultConfig with every feature that needs a choice (a
// region, a retention) off and the choice not made.
func bareConfig() Config {
	c := DefaultConfig()
	c.Files = Files{}
	c.AppContext.Enabled, c.AppContext.Region = false, nil
	c.MessagePersistence = MessagePersistence{}
	return c
}

// ParseStoredConfig decodes a config read from our own storage over
// bareConfig, so that fields added since the row was written take their
// defaults and fields since removed are ignored. Not over DefaultConfig:
// a field missing from a stored row is one the keyset never had, and
// reading a keyset must never turn a feature on or choose a region for
// it (every row written so far holds every section anyway). It does not validate:
// reading a keyset must keep working if a rule is tightened later; the next
// Apply reports the old value. Its errors are internal, never the caller's.
func ParseStoredConfig(data []byte) (Config, error) {
	c := bareConfig()
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("stored keyset config: %w", err)
	}
	return c, nil
}

// Apply merges p into c and returns the result, which passes Validate. c
// itself is not changed, nor anything it points to; the result may share
// pointers with c, which are never written through. A refusal returns the
// zero Config and a CodeInvalid *Error listing every problem, with paths
// from the top of the config ("files.region: …"): null for a field that
// cannot be null, a changed region, and whatever Validate finds in the
// merged result, so that a region or retention set by an earlier patch
// satisfies an enabling rule.
func (c Config) Apply(p ConfigPatch) (Config, error) {
	n := c
	var msgs []string
	if s := p.AccessManager; s != nil {
		setField(&msgs, "accessManager.enabled", &n.AccessManager.Enabled, s.Enabled)
		setField(&msgs, "accessManager.tokenRevoke", &n.AccessManager.TokenRevoke, s.TokenRevoke)
	}
	if s := p.Files; s != nil {
		setField(&msgs, "files.enabled", &n.Files.Enabled, s.Enabled)
		setNullable(&n.Files.Retention, s.Retention)
		setRegion(&msgs, "files.region", &n.Files.Region, s.Region)
	}
	if s := p.StreamController; s != nil {
		setField(&msgs, "streamController.enabled", &n.StreamController.Enabled, s.Enabled)
		setField(&msgs, "streamController.wildcardSubscribe", &n.StreamController.WildcardSubscribe, s.WildcardSubscribe)
		setField(&msgs, "streamController.channelGroupLimit", &n.StreamController.ChannelGroupLimit, s.ChannelGroupLimit)
	}
	if s := p.AppContext; s != nil {
		a := &n.AppContext
		setField(&msgs, "appContext.enabled", &a.Enabled, s.Enabled)
		setField(&msgs, "appContext.userMetadataEvents", &a.UserMetadataEvents, s.UserMetadataEvents)
		setField(&msgs, "appContext.channelMetadataEvents", &a.ChannelMetadataEvents, s.ChannelMetadataEvents)
		setField(&msgs, "appContext.membershipEvents", &a.MembershipEvents, s.MembershipEvents)
		setField(&msgs, "appContext.disallowGetAllChannelMetadata", &a.DisallowGetAllChannelMetadata, s.DisallowGetAllChannelMetadata)
		setField(&msgs, "appContext.disallowGetAllUserMetadata", &a.DisallowGetAllUserMetadata, s.DisallowGetAllUserMetadata)
		setField(&msgs, "appContext.referentialIntegrity", &a.ReferentialIntegrity, s.ReferentialIntegrity)
		setRegion(&msgs, "appContext.region", &a.Region, s.Region)
	}
	if s := p.DataSync; s != nil {
		setField(&msgs, "dataSync.enabled", &n.DataSync.Enabled, s.Enabled)
		setRegion(&msgs, "dataSync.region", &n.DataSync.Region, s.Region)
	}
	if s := p.APNs; s != nil {
		setField(&msgs, "apns.enabled", &n.APNs.Enabled, s.Enabled)
		setNullable(&n.APNs.TeamID, s.TeamID)
		setNullable(&n.APNs.AuthKeyID, s.AuthKeyID)
		setNullable(&n.APNs.Filename, s.Filename)
	}
	if s := p.FCM; s != nil {
		setNullable(&n.FCM.Filename, s.Filename)
	}
	if s := p.MessagePersistence; s != nil {
		m := &n.MessagePersistence
		setField(&msgs, "messagePersistence.enabled", &m.Enabled, s.Enabled)
		setField(&msgs, "messagePersistence.includePresenceEvents", &m.IncludePresenceEvents, s.IncludePresenceEvents)
		setField(&msgs, "messagePersistence.deleteFromHistory", &m.DeleteFromHistory, s.DeleteFromHistory)
		setNullable(&m.Retention, s.Retention)
	}
	if s := p.Presence; s != nil {
		r := &n.Presence
		setField(&msgs, "presence.enabled", &r.Enabled, s.Enabled)
		setField(&msgs, "presence.deltas", &r.Deltas, s.Deltas)
		setField(&msgs, "presence.generateLeaveOnDisconnect", &r.GenerateLeaveOnDisconnect, s.GenerateLeaveOnDisconnect)
		setField(&msgs, "presence.streamFiltering", &r.StreamFiltering, s.StreamFiltering)
		setNullable(&r.ActiveNoticeChannel, s.ActiveNoticeChannel)
		setField(&msgs, "presence.announceMax", &r.AnnounceMax, s.AnnounceMax)
		setField(&msgs, "presence.interval", &r.Interval, s.Interval)
		setField(&msgs, "presence.debounce", &r.Debounce, s.Debounce)
	}
	if err := Invalid(append(msgs, n.problems()...)...); err != nil {
		return Config{}, err
	}
	return n, nil
}

// Validate checks every value rule and enabling rule of a whole config.
func (c Config) Validate() error { return Invalid(c.problems()...) }

var (
	retentionDays  = []int{0, 1, 7, 30, 90, 180, 365}
	filesRegions   = []string{"us-east-1", "us-west-1", "eu-central-1", "ap-south-1", "ap-northeast-1"}
	contextRegions = []string{"aws-iad-1", "aws-pdx-1", "aws-fra-1", "aws-bom-1", "aws-hnd-1"}
	appleIDRE      = regexp.MustCompile(`^[A-Za-z0-9]{10}$`)

	channelGroupLimits = [2]int{1, 2000}
	announceMaxes      = [2]int{0, 100}
	presenceIntervals  = [2]int{10, 300} // seconds
	presenceDebounces  = [2]int{0, 300}  // seconds
)

// configNotes says what the fields with a rule accept, from the same
// values the rules check: DescribeConfig shows them.
var configNotes = map[string]string{
	"files.retention":                    "days: " + joinInts(retentionDays) + " (0 = unlimited); required when enabling",
	"files.region":                       strings.Join(filesRegions, ", ") + "; required when enabling; cannot change once set",
	"messagePersistence.retention":       "days: " + joinInts(retentionDays) + " (0 = unlimited); required when enabling",
	"appContext.region":                  strings.Join(contextRegions, ", ") + "; required when enabling; cannot change once set",
	"dataSync.region":                    strings.Join(contextRegions, ", ") + "; required when enabling; cannot change once set",
	"streamController.channelGroupLimit": fmt.Sprintf("%d-%d", channelGroupLimits[0], channelGroupLimits[1]),
	"presence.announceMax":               fmt.Sprintf("%d-%d", announceMaxes[0], announceMaxes[1]),
	"presence.interval":                  fmt.Sprintf("seconds, %d-%d", presenceIntervals[0], presenceIntervals[1]),
	"presence.debounce":                  fmt.Sprintf("seconds, %d-%d", presenceDebounces[0], presenceDebounces[1]),
	"apns.teamId":                        "10 letters or digits; required when enabling",
	"apns.authKeyId":                     "10 letters or digits; required when enabling",
}

// ConfigChoice is one value a configuration field with a fixed list
// accepts: Value as the API takes it (the JSON text of a number, or a
// string) and Label as people read it ("7 days", "Unlimited").
type ConfigChoice struct {
	Value, Label string
}

// ConfigRule is what one configuration field accepts, for forms and tools
// that offer only what the API takes. It is derived from the same values
// Config.Validate checks, so the two cannot disagree.
type ConfigRule struct {
	// Choices are the only values accepted, in the order to offer them;
	// nil when the field is not a fixed list.
	Choices []ConfigChoice
	// Unit is what a number counts ("days", "seconds"), or "".
	Unit string
	// Min and Max bound a number when HasRange is set.
	Min, Max int
	HasRange bool
	// WriteOnce tells that the value cannot change once set (a region:
	// data stored there does not move).
	WriteOnce bool
}

// ConfigRuleOf returns the rule of the field at path ("files.region"); a
// field without one (a flag, free text) has the zero ConfigRule.
func ConfigRuleOf(path string) ConfigRule {
	between := func(r [2]int, unit string) ConfigRule {
		return ConfigRule{Min: r[0], Max: r[1], HasRange: true, Unit: unit}
	}
	switch path {
	case "files.retention", "messagePersistence.retention":
		return ConfigRule{Choices: retentionChoices(), Unit: "days"}
	case "files.region":
		return ConfigRule{Choices: stringChoices(filesRegions), WriteOnce: true}
	case "appContext.region", "dataSync.region":
		return ConfigRule{Choices: stringChoices(contextRegions), WriteOnce: true}
	case "streamController.channelGroupLimit":
		return between(channelGroupLimits, "channels per group")
	case "presence.announceMax":
		return between(announceMaxes, "occupants")
	case "presence.interval":
		return between(presenceIntervals, "seconds")
	case "presence.debounce":
		return between(presenceDebounces, "seconds")
	}
	return ConfigRule{}
}

// retentionChoices are retentionDays as people read them; 0 keeps
// messages and files for ever.
func retentionChoices() []ConfigChoice {
	out := make([]ConfigChoice, len(retentionDays))
	for i, d := range retentionDays {
		label := strconv.Itoa(d) + " days"
		switch d {
		case 0:
			label = "Unlimited"
		case 1:
			label = "1 day"
		}
		out[i] = ConfigChoice{Value: strconv.Itoa(d), Label: label}
	}
	return out
}

func stringChoices(vs []string) []ConfigChoice {
	out := make([]ConfigChoice, len(vs))
	for i, v := range vs {
		out[i] = ConfigChoice{Value: v, Label: v}
	}
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// DescribeConfig lists every section of a Config with its fields, and what
// the fields with a rule accept, e.g. "presence {enabled, …, interval
// (seconds, 10-300)}": a description for tools that send configurations
// (the MCP server's), derived from the type so that it names every section.
func DescribeConfig() string {
	var sections []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		name := jsonName(sec)
		var fields []string
		for j := range sec.Type.NumField() {
			f := jsonName(sec.Type.Field(j))
			if note, ok := configNotes[name+"."+f]; ok {
				f += " (" + note + ")"
			}
			fields = append(fields, f)
		}
		sections = append(sections, name+" {"+strings.Join(fields, ", ")+"}")
	}
	return strings.Join(sections, ", ")
}

// jsonName is the name a struct field has in JSON.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func (c Config) problems() []string {
	var msgs []string
	check := func(path string, problem string) {
		if problem != "" {
			msgs = append(msgs, path+": "+problem)
		}
	}
	check("files.retention", ifSet(c.Files.Retention, ruleOneOf(retentionDays)))
	check("files.region", ifSet(c.Files.Region, ruleOneOf(filesRegions)))
	check("streamController.channelGroupLimit", ruleBetween(channelGroupLimits[0], channelGroupLimits[1])(c.StreamController.ChannelGroupLimit))
	check("appContext.region", ifSet(c.AppContext.Region, ruleOneOf(contextRegions)))
	check("dataSync.region", ifSet(c.DataSync.Region, ruleOneOf(contextRegions)))
	check("apns.teamId", ifSet(c.APNs.TeamID, ruleAppleID))
	check("apns.authKeyId", ifSet(c.APNs.AuthKeyID, ruleAppleID))
	check("apns.filename", ifSet(c.APNs.Filename, ruleFileName))
	check("fcm.filename", ifSet(c.FCM.Filename, ruleFileName))
	check("messagePersistence.retention", ifSet(c.MessagePersistence.Retention, ruleOneOf(retentionDays)))
	check("presence.activeNoticeChannel", ifSet(c.Presence.ActiveNoticeChannel, ruleChannelName))
	check("presence.announceMax", ruleBetween(announceMaxes[0], announceMaxes[1])(c.Presence.AnnounceMax))
	check("presence.interval", ruleBetween(presenceIntervals[0], presenceIntervals[1])(c.Presence.Interval))
	check("presence.debounce", ruleBetween(presenceDebounces[0], presenceDebounces[1])(c.Presence.Debounce))

	// A feature cannot run without the choices only the caller can make.
	need := func(enabled bool, feature, path string, given bool) {
		if enabled && !given {
			msgs = append(msgs, path+": required when "+feature)
		}
	}
	need(c.Files.Enabled, "files are enabled", "files.region", c.Files.Region != nil)
	need(c.Files.Enabled, "files are enabled", "files.retention", c.Files.Retention != nil)
	need(c.AppContext.Enabled, "appContext is enabled", "appContext.region", c.AppContext.Region != nil)
	need(c.DataSync.Enabled, "dataSync is enabled", "dataSync.region", c.DataSync.Region != nil)
	need(c.APNs.Enabled, "apns is enabled", "apns.teamId", c.APNs.TeamID != nil)
	need(c.APNs.Enabled, "apns is enabled", "apns.authKeyId", c.APNs.AuthKeyID != nil)
	need(c.APNs.Enabled, "apns is enabled", "apns.filename", c.APNs.Filename != nil)
	need(c.MessagePersistence.Enabled, "messagePersistence is enabled", "messagePersistence.retention", c.MessagePersistence.Retention != nil)
	return msgs
}

// setField applies o to a field that has no null: null there is a wrong type.
func setField[T any](msgs *[]string, path string, dst *T, o Opt[T]) {
	switch {
	case !o.Set:
	case o.Null:
		*msgs = append(*msgs, path+": must be "+typeWord(reflect.TypeFor[T]()))
	default:
		*dst = o.V
	}
}

// setNullable applies o to a field where null means "no choice made".
func setNullable[T any](dst **T, o Opt[T]) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = nil
	default:
		// o is a copy: the result never shares this value with the receiver.
		*dst = &o.V
	}
}

// setRegion applies o to a region, which is write-once: data already stored
// in a region stays there. Sending the region again is harmless, so allowed.
func setRegion(msgs *[]string, path string, dst **string, o Opt[string]) {
	if o.Set && *dst != nil && (o.Null || o.V != **dst) {
		*msgs = append(*msgs, path+": cannot be changed once set")
		return
	}
	setNullable(dst, o)
}

// ifSet applies rule to a nullable field; null always passes.
func ifSet[T any](v *T, rule func(T) string) string {
	if v == nil {
		return ""
	}
	return rule(*v)
}

// ruleOneOf, like every rule function, says what is wrong with a value, or
// "" when nothing is, in words that follow the field's path in a message and
// tell the caller what is allowed.
func ruleOneOf[T comparable](allowed []T) func(T) string {
	return func(v T) string {
		if slices.Contains(allowed, v) {
			return ""
		}
		words := make([]string, len(allowed))
		for i, a := range allowed {
			words[i] = fmt.Sprint(a)
		}
		return "must be one of " + strings.Join(words, ", ")
	}
}

func ruleBetween(lo, hi int) func(int) string {
	return func(v int) string {
		if v < lo || v > hi {
			return fmt.Sprintf("must be between %d and %d", lo, hi)
		}
		return ""
	}
}

func ruleAppleID(v string) string {
	if !appleIDRE.MatchString(v) {
		return "must be 10 letters or digits"
	}
	return ""
}

func ruleFileName(v string) string {
	if n := utf8.RuneCountInString(v); n < 1 || n > 255 || strings.ContainsAny(v, `/\`) {
		return `must be 1 to 255 characters without / or \`
	}
	return ""
}

func ruleChannelName(v string) string {
	if n := utf8.RuneCountInString(v); n < 1 || n > 92 || strings.ContainsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		return "must be 1 to 92 characters without spaces or commas"
	}
	return ""
}
