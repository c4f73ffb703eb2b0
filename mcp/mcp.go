// Package mcp serves Keyplane's tools to AI assistants over the Model
// Context Protocol, on github.com/modelcontextprotocol/go-sdk.
//
// The tools that PubNub's own MCP server offers for the Admin API keep its
// names and argument shapes (manage_apps, manage_keysets, get_usage_metrics),
// so prompts and agents written for it work unchanged; manage_secret_keys,
// manage_customers (OEM), manage_webhooks and whoami (GET /v2/me) are
// Keyplane's. Every tool calls the /v2 API through the public
// Go client, with the caller's API key: over stdio (keyplane mcp) the client
// talks to a server by URL; over streamable HTTP (/mcp on the server) it
// talks to the server's own API handler in process. Either way a tool can do
// exactly what the key may do on the API, checked by the one authorization
// path, and a refusal comes back as a tool error carrying the server's
// status and messages.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// ClientFor returns the API client a tool call runs with: the one client of
// a stdio server, or a client with the key of the HTTP request that carries
// the call.
type ClientFor func(ctx context.Context, req *sdk.CallToolRequest) (*client.Client, error)

// Options tune a server.
type Options struct {
	// Version is the version the server reports; "" means "dev".
	Version string
}

// NewServer returns an MCP server with Keyplane's tools, each calling the
// API with the client clientFor returns for the call.
func NewServer(clientFor ClientFor, opts Options) *sdk.Server {
	v := opts.Version
	if v == "" {
		v = "dev"
	}
	s := sdk.NewServer(&sdk.Implementation{Name: "keyplane", Title: "Keyplane", Version: v}, &sdk.ServerOptions{
		Instructions: "Tools to manage the apps, keysets, keyset configuration, secret keys, OEM customers and webhooks of a Keyplane account " +
			"(a self-hosted control plane compatible with PubNub's Admin API v2), and to read its usage. " +
			"A refused call returns the server's status and messages: read them, they name the field or the missing permission row.",
	})
	t := &tools{clientFor: clientFor}
	sdk.AddTool(s, &sdk.Tool{
		Name:  "manage_apps",
		Title: "Manage apps",
		Description: `Manages apps with operations: list, create, update.
- 'list': list every app the key may read.
- 'create': create an app; data.name is required.
- 'update': rename an app; data.id and data.name are required.`,
		Annotations:  &sdk.ToolAnnotations{DestructiveHint: ptr(false)},
		InputSchema:  schemaFor[AppsInput](map[string][]any{"operation": {"list", "create", "update"}}),
		OutputSchema: inferSchema[AppsOutput](),
	}, t.manageApps)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "manage_keysets",
		Title: "Manage keysets",
		Description: `Manages keysets with operations: get, list, create, update.
- 'get': a keyset and its configuration; data.id is required.
- 'list': every keyset the key may read, or those of data.appId.
- 'create': create a keyset; data.name and data.type are required, data.config is optional (any part of a configuration:
  messagePersistence, appContext, files, presence, accessManager, streamController, dataSync). Without data.appId a new app
  named after the keyset is created first: ask the user before leaving it out. Regions cannot be changed once set: ask the user.
- 'update': merge data.config into a keyset's configuration (only the sections given change); data.name and data.type rename
  it or change its type.
The secret key of a new keyset is not returned here (it would land in the conversation): use manage_secret_keys 'rotate'
when the user wants one shown.`,
		Annotations:  &sdk.ToolAnnotations{DestructiveHint: ptr(false)},
		InputSchema:  configSchema(schemaFor[KeysetsInput](map[string][]any{"operation": {"get", "list", "create", "update"}, "data.type": {"testing", "production"}})),
		OutputSchema: inferSchema[KeysetsOutput](),
	}, t.manageKeysets)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "get_usage_metrics",
		Title: "Get usage metrics",
		Description: `Daily usage of an account, app, keyset or OEM customer (the keysets it holds now): for each metric, a value per date of [from, to) (UTC days; 0 for a day without data).
Example metrics: txn_total, mtd_txn_total, publish, subscribe_msgs, msgs_total, mtd_uuid, signals, bytes_stored.`,
		Annotations:  &sdk.ToolAnnotations{ReadOnlyHint: true},
		InputSchema:  schemaFor[UsageInput](map[string][]any{"entityType": {"account", "app", "keyset", "customer"}}),
		OutputSchema: inferSchema[UsageOutput](),
	}, t.getUsageMetrics)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "manage_secret_keys",
		Title: "Manage a keyset's secret keys",
		Description: `Manages the secret keys of a keyset (they sign Access Manager grants) with operations: list, rotate, delete.
- 'list': the keys by prefix (sec-c-XXXXX) with when each stops working; whole keys are never listed here.
- 'rotate': make a new main key and return it, once. With data.oldKeyExpiresInSeconds (60 to 31622400) the old main key keeps
  working that long, so clients can move over; without it the old key stops working at once: ask the user first.
- 'delete': stop a rotated key at once; data.prefix names it.`,
		Annotations:  &sdk.ToolAnnotations{DestructiveHint: ptr(true)},
		InputSchema:  schemaFor[SecretKeysInput](map[string][]any{"operation": {"list", "rotate", "delete"}}),
		OutputSchema: inferSchema[SecretKeysOutput](),
	}, t.manageSecretKeys)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "whoami",
		Title: "Who am I",
		Description: "The account (and whether it is an OEM partner), the Service Integration and API key these tools act as, " +
			"the key's permission rows, and the access they give account-wide and on each app and keyset. Call it to learn what the other tools may do.",
		Annotations:  &sdk.ToolAnnotations{ReadOnlyHint: true},
		OutputSchema: inferSchema[Whoami](),
	}, t.whoami)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "manage_customers",
		Title: "Manage OEM customers",
		Description: `Manages the end customers of an OEM partner account (other accounts get a 403 naming the reason) with operations:
- 'list': every customer, with how many keysets it holds in how many apps; data.appId keeps those holding a keyset of that app.
- 'get': a customer with its keysets; data.id is required.
- 'create': data.externalId (the partner's own id, 1-255 of a-z A-Z 0-9 _ -, never changed) and data.name are required;
  data.keysetIds assigns keysets at once.
- 'update': rename a customer; data.id and data.name are required.
- 'assign_keysets': give keysets to a customer; data.id and data.keysetIds are required. A keyset of another customer is refused.
- 'keyset_customer': the customer a keyset belongs to; data.keysetId is required.`,
		Annotations:  &sdk.ToolAnnotations{DestructiveHint: ptr(false)},
		InputSchema:  schemaFor[CustomersInput](map[string][]any{"operation": {"list", "get", "create", "update", "assign_keysets", "keyset_customer"}}),
		OutputSchema: inferSchema[CustomersOutput](),
	}, t.manageCustomers)
	sdk.AddTool(s, &sdk.Tool{
		Name:  "manage_webhooks",
		Title: "Manage webhooks",
		Description: `Manages the webhooks of the account (endpoints its events are sent to, signed as Standard Webhooks says) with operations:
- 'list': every webhook, oldest first, without secrets.
- 'get': a webhook; data.id is required.
- 'create': register a receiver; data.url and data.events (event types such as KeysetCreated, or ["*"] for every event) are
  required, data.description is optional. The answer holds the signing secret (whsec_…), shown this once and never again:
  give it to the user to store or to configure the receiver with.
- 'update': change data.url, data.description, data.events (they replace the old ones) or data.enabled of webhook data.id;
  only what is given changes.
- 'delete': delete webhook data.id with its deliveries: ask the user first.
- 'rotate_secret': give webhook data.id a new signing secret, shown this once. With data.oldSecretExpiresInSeconds (at most
  604800) the old secret keeps signing beside it that long; without it the old secret stops at once and the receiver refuses
  deliveries until it has the new one: ask the user first.
- 'deliveries': the newest deliveries of webhook data.id (status, attempts, the receiver's answer, latency, next attempt);
  data.status and data.limit filter. A delivery's id is its event's id.
- 'retry': send delivery data.deliveryId of webhook data.id again, at once, with the same webhook-id.
- 'test': send a test event (WebhookTested) to webhook data.id alone; answers the delivery queued.`,
		Annotations: &sdk.ToolAnnotations{DestructiveHint: ptr(true)},
		InputSchema: schemaFor[WebhooksInput](map[string][]any{
			"operation":   {"list", "get", "create", "update", "delete", "rotate_secret", "deliveries", "retry", "test"},
			"data.status": {"pending", "delivered", "failed"},
		}),
		OutputSchema: inferSchema[WebhooksOutput](),
	}, t.manageWebhooks)
	return s
}

func ptr[T any](v T) *T { return &v }

// schemaFor is the input schema inferred from T, with the allowed values of
// the properties named in enums ("data.type" is type inside data), as
// PubNub's schemas list them: the assistant sees the choices, and the SDK
// refuses any other value before the tool runs.
func schemaFor[T any](enums map[string][]any) *jsonschema.Schema {
	s := inferSchema[T]()
	for path, values := range enums {
		p := s
		for name := range strings.SplitSeq(path, ".") {
			p = p.Properties[name]
			if p == nil {
				panic(fmt.Sprintf("schema of %T: no property %s", *new(T), path))
			}
		}
		p.Enum = values
	}
	return s
}

// wireTypes are the schemas of the types whose JSON is not what their Go
// shape says: client.Time is a struct in Go and a string on the wire.
var wireTypes = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[client.Time](): {Type: "string"},
}

// inferSchema is the schema inferred from T, each client.Time in it a
// string. The SDK would infer a tool's output schema by itself, but without
// wireTypes it takes a client.Time for an object and then refuses every
// answer holding one.
func inferSchema[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: wireTypes})
	if err != nil {
		panic(fmt.Sprintf("schema of %T: %v", *new(T), err))
	}
	return s
}

// configSchema describes data.config of s with every section of a keyset's
// configuration and what its fields accept, derived from keyplane.Config.
func configSchema(s *jsonschema.Schema) *jsonschema.Schema {
	c := s.Properties["data"].Properties["config"]
	c.Description = "keyset feature configuration, any part of it: " + keyplane.DescribeConfig()
	return s
}

// tools holds what every tool handler needs.
type tools struct {
	clientFor ClientFor
}

// toolError turns an API refusal into the error text the assistant reads:
// the status, the error name and every message, as the CLI shows them.
func toolError(err error) error {
	if err == nil {
		return nil
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		name := ce.Name
		if name == "" {
			name = fmt.Sprint(ce.StatusCode)
		}
		return fmt.Errorf("%d %s: %s", ce.StatusCode, name, strings.Join(ce.Messages, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "keyplane: "))
}

// --- manage_apps ---

// AppsInput is manage_apps' argument: PubNub's {operation, data} shape.
type AppsInput struct {
	Operation string    `json:"operation" jsonschema:"operation to perform: 'list' to list all apps, 'create' to create an app, 'update' to rename an app"`
	Data      *AppsData `json:"data,omitempty" jsonschema:"operation-specific data. For 'list': not required. For 'create': {name}. For 'update': {id, name}."`
}

// AppsData is the data of a manage_apps call.
type AppsData struct {
	ID   string `json:"id,omitempty" jsonschema:"app ID to update"`
	Name string `json:"name,omitempty" jsonschema:"name of the app to create, or its new name"`
}

// AppsOutput is what manage_apps answers: the apps listed, or the one
// created or renamed, as the API writes them.
type AppsOutput struct {
	Apps  []client.App `json:"apps,omitzero"`
	Total *int         `json:"total,omitempty"`
	App   *client.App  `json:"app,omitempty"`
}

func (t *tools) manageApps(ctx context.Context, req *sdk.CallToolRequest, in AppsInput) (*sdk.CallToolResult, AppsOutput, error) {
	var d AppsData
	if in.Data != nil {
		d = *in.Data
	}
	var bad argErrors
	switch in.Operation {
	case "list":
	case "create":
		bad.need(in.Operation, d.Name != "", "name")
	case "update":
		bad.need(in.Operation, d.ID != "", "id")
		bad.need(in.Operation, d.Name != "", "name")
	default:
		bad.add(fmt.Sprintf("operation %q: want list, create or update", in.Operation))
	}
	if err := bad.err(); err != nil {
		return nil, AppsOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, AppsOutput{}, toolError(err)
	}
	var out AppsOutput
	switch in.Operation {
	case "list":
		out.Apps = []client.App{}
		for a, err := range c.Apps(ctx) {
			if err != nil {
				return nil, AppsOutput{}, toolError(err)
			}
			out.Apps = append(out.Apps, a)
		}
		out.Total = ptr(len(out.Apps))
	case "create":
		a, err := c.CreateApp(ctx, d.Name)
		if err != nil {
			return nil, AppsOutput{}, toolError(err)
		}
		out.App = &a
	case "update":
		a, err := c.RenameApp(ctx, d.ID, d.Name)
		if err != nil {
			return nil, AppsOutput{}, toolError(err)
		}
		out.App = &a
	}
	return nil, out, nil
}

// --- manage_keysets ---

// KeysetsInput is manage_keysets' argument: PubNub's {operation, data} shape.
type KeysetsInput struct {
	Operation string       `json:"operation" jsonschema:"operation to perform: 'get' a keyset, 'list' keysets, 'create' a keyset, 'update' a keyset"`
	Data      *KeysetsData `json:"data,omitempty" jsonschema:"operation-specific data. For 'get': {id}. For 'list': {appId?}. For 'create': {name, appId?, type, config?}. For 'update': {id, config?, name?, type?}."`
}

// KeysetsData is the data of a manage_keysets call.
type KeysetsData struct {
	ID     string         `json:"id,omitempty" jsonschema:"keyset ID (get, update)"`
	AppID  string         `json:"appId,omitempty" jsonschema:"app ID: for 'list', only this app's keysets; for 'create', the app to create the keyset in (without it a new app is created: ask the user first)"`
	Name   string         `json:"name,omitempty" jsonschema:"keyset name (create; update renames)"`
	Type   string         `json:"type,omitempty" jsonschema:"'testing' or 'production' (create; update changes it)"`
	Config map[string]any `json:"config,omitempty" jsonschema:"keyset feature configuration, any part of it"` // described in full by configSchema
}

// KeysetsOutput is what manage_keysets answers, keysets as the API writes
// them (client.Keyset never holds a secret key).
type KeysetsOutput struct {
	Keysets []client.Keyset  `json:"keysets,omitzero"`
	Total   *int             `json:"total,omitempty"`
	Keyset  *client.Keyset   `json:"keyset,omitempty"`
	Config  *keyplane.Config `json:"config,omitempty"`
	// App is the app created for a keyset given no appId.
	App  *client.App `json:"app,omitempty"`
	Note string      `json:"note,omitempty"`
}

func (t *tools) manageKeysets(ctx context.Context, req *sdk.CallToolRequest, in KeysetsInput) (*sdk.CallToolResult, KeysetsOutput, error) {
	var d KeysetsData
	if in.Data != nil {
		d = *in.Data
	}
	var bad argErrors
	switch in.Operation {
	case "get":
		bad.need(in.Operation, d.ID != "", "id")
	case "list":
	case "create":
		bad.need(in.Operation, d.Name != "", "name")
		bad.need(in.Operation, d.Type != "", "type")
	case "update":
		bad.need(in.Operation, d.ID != "", "id")
		if d.Config == nil && d.Name == "" && d.Type == "" {
			bad.add("data.config: required for 'update' (or data.name, data.type)")
		}
	default:
		bad.add(fmt.Sprintf("operation %q: want get, list, create or update", in.Operation))
	}
	if err := bad.err(); err != nil {
		return nil, KeysetsOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, KeysetsOutput{}, toolError(err)
	}
	var out KeysetsOutput
	switch in.Operation {
	case "get":
		k, err := c.GetKeyset(ctx, d.ID)
		if err != nil {
			return nil, out, toolError(err)
		}
		cfg, err := c.GetConfig(ctx, d.ID)
		if err != nil {
			return nil, out, toolError(err)
		}
		out.Keyset, out.Config = &k, &cfg
	case "list":
		out.Keysets = []client.Keyset{}
		for k, err := range c.Keysets(ctx) {
			if err != nil {
				return nil, KeysetsOutput{}, toolError(err)
			}
			if d.AppID == "" || k.AppID == d.AppID {
				out.Keysets = append(out.Keysets, k)
			}
		}
		out.Total = ptr(len(out.Keysets))
	case "create":
		appID := d.AppID
		if appID == "" {
			// As PubNub's tool does: a keyset without an app gets a new app
			// named after it.
			a, err := c.CreateApp(ctx, d.Name)
			if err != nil {
				return nil, out, toolError(err)
			}
			out.App, appID = &a, a.ID
		}
		nk := client.NewKeyset{AppID: appID, Name: d.Name, Type: d.Type}
		if d.Config != nil {
			nk.Config = d.Config
		}
		k, err := c.CreateKeyset(ctx, nk)
		if err != nil {
			if out.App != nil {
				err = fmt.Errorf("%w (app %s was created for it and is still there)", toolError(err), out.App.ID)
			}
			return nil, KeysetsOutput{}, toolError(err)
		}
		out.Keyset, out.Config = &k.Keyset, &k.Config
		out.Note = "The keyset's secret key is not shown here; manage_secret_keys 'rotate' makes and shows a new one."
	case "update":
		if d.Name != "" || d.Type != "" {
			var u client.KeysetUpdate
			if d.Name != "" {
				u.Name = &d.Name
			}
			if d.Type != "" {
				u.Type = &d.Type
			}
			k, err := c.UpdateKeyset(ctx, d.ID, u)
			if err != nil {
				return nil, out, toolError(err)
			}
			out.Keyset = &k
		}
		if d.Config != nil {
			cfg, err := c.UpdateConfig(ctx, d.ID, d.Config)
			if err != nil {
				if out.Keyset != nil {
					err = fmt.Errorf("%w (the name and type were changed)", toolError(err))
				}
				return nil, KeysetsOutput{}, toolError(err)
			}
			out.Config = &cfg
		}
	}
	return nil, out, nil
}

// --- get_usage_metrics ---

// UsageInput is get_usage_metrics' argument, PubNub's shape.
type UsageInput struct {
	EntityType string   `json:"entityType" jsonschema:"the type of entity to fetch metrics for: 'account', 'app', 'keyset' or 'customer' (OEM)"`
	EntityID   string   `json:"entityId" jsonschema:"the ID of the entity (account ID, app ID, keyset ID or customer ID)"`
	From       string   `json:"from" jsonschema:"start date (inclusive), YYYY-MM-DD"`
	To         string   `json:"to" jsonschema:"end date (exclusive), YYYY-MM-DD"`
	Metrics    []string `json:"metrics" jsonschema:"metric names to retrieve, at least one"`
}

// UsageOutput is the API's answer: metric → date → value.
type UsageOutput struct {
	Metrics map[string]map[string]float64 `json:"metrics"`
}

func (t *tools) getUsageMetrics(ctx context.Context, req *sdk.CallToolRequest, in UsageInput) (*sdk.CallToolResult, UsageOutput, error) {
	var bad argErrors
	switch in.EntityType {
	case "account", "app", "keyset", "customer":
	default:
		bad.add(fmt.Sprintf("entityType %q: want account, app, keyset or customer", in.EntityType))
	}
	if in.EntityID == "" {
		bad.add("entityId: required")
	}
	from, err := time.Parse(time.DateOnly, in.From)
	if err != nil {
		bad.add(fmt.Sprintf("from %q: want a date YYYY-MM-DD", in.From))
	}
	to, err := time.Parse(time.DateOnly, in.To)
	if err != nil {
		bad.add(fmt.Sprintf("to %q: want a date YYYY-MM-DD", in.To))
	}
	if len(in.Metrics) == 0 {
		bad.add("metrics: at least one metric must be given")
	}
	if err := bad.err(); err != nil {
		return nil, UsageOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, UsageOutput{}, toolError(err)
	}
	u, err := c.UsageMetrics(ctx, client.UsageQuery{EntityType: in.EntityType, EntityID: in.EntityID, From: from, To: to, Metrics: in.Metrics})
	if err != nil {
		return nil, UsageOutput{}, toolError(err)
	}
	out := UsageOutput{Metrics: map[string]map[string]float64{}}
	maps.Copy(out.Metrics, u)
	return nil, out, nil
}

// --- manage_secret_keys ---

// SecretKeysInput is manage_secret_keys' argument, in the {operation, data}
// shape of the other tools.
type SecretKeysInput struct {
	Operation string          `json:"operation" jsonschema:"operation to perform: 'list', 'rotate' or 'delete'"`
	Data      *SecretKeysData `json:"data" jsonschema:"For 'list': {id}. For 'rotate': {id, oldKeyExpiresInSeconds?}. For 'delete': {id, prefix}."`
}

// SecretKeysData is the data of a manage_secret_keys call.
type SecretKeysData struct {
	ID                     string `json:"id" jsonschema:"keyset ID"`
	OldKeyExpiresInSeconds int    `json:"oldKeyExpiresInSeconds,omitempty" jsonschema:"rotate: how long the old main key keeps working (60 to 31622400 seconds); without it the old key stops at once"`
	Prefix                 string `json:"prefix,omitempty" jsonschema:"delete: the rotated key's prefix, sec-c-XXXXX"`
}

// SecretKeyInfo is a secret key as 'list' shows it: by prefix.
type SecretKeyInfo struct {
	Prefix    string       `json:"prefix"`
	Role      string       `json:"role" jsonschema:"'main' or 'rotated'"`
	ExpiresAt *client.Time `json:"expiresAt" jsonschema:"when a rotated key stops working; null for the main key"`
}

// SecretKeysOutput is what manage_secret_keys answers.
type SecretKeysOutput struct {
	SecretKeys []SecretKeyInfo `json:"secretKeys,omitzero"`
	// SecretKey is the new main key a rotation made, shown once.
	SecretKey string `json:"secretKey,omitempty"`
	Deleted   string `json:"deleted,omitempty"`
	Note      string `json:"note,omitempty"`
}

func (t *tools) manageSecretKeys(ctx context.Context, req *sdk.CallToolRequest, in SecretKeysInput) (*sdk.CallToolResult, SecretKeysOutput, error) {
	var d SecretKeysData
	if in.Data != nil {
		d = *in.Data
	}
	var bad argErrors
	if d.ID == "" {
		bad.add("data.id: required")
	}
	switch in.Operation {
	case "list", "rotate":
	case "delete":
		if d.Prefix == "" {
			bad.add("data.prefix: required for 'delete'")
		}
	default:
		bad.add(fmt.Sprintf("operation %q: want list, rotate or delete", in.Operation))
	}
	if d.OldKeyExpiresInSeconds < 0 {
		bad.add("data.oldKeyExpiresInSeconds: must be positive")
	}
	if err := bad.err(); err != nil {
		return nil, SecretKeysOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, SecretKeysOutput{}, toolError(err)
	}
	var out SecretKeysOutput
	switch in.Operation {
	case "list":
		keys, err := c.ListSecretKeys(ctx, d.ID, false)
		if err != nil {
			return nil, out, toolError(err)
		}
		out.SecretKeys = []SecretKeyInfo{}
		for _, k := range keys {
			info := SecretKeyInfo{Prefix: k.Prefix(), Role: "main"}
			if k.ExpiresAt != nil {
				info.Role, info.ExpiresAt = "rotated", k.ExpiresAt
			}
			out.SecretKeys = append(out.SecretKeys, info)
		}
	case "rotate":
		var at *time.Time
		if d.OldKeyExpiresInSeconds > 0 {
			at = ptr(wallclock.Now().Add(time.Duration(d.OldKeyExpiresInSeconds) * time.Second))
		}
		key, err := c.RotateSecretKey(ctx, d.ID, at)
		if err != nil {
			return nil, out, toolError(err)
		}
		out.SecretKey = key
		out.Note = "The new main secret key is shown this once: tell the user to store it in a secrets manager. "
		if at != nil {
			out.Note += "The old main key works until " + keyplane.FormatTime(*at) + "."
		} else {
			out.Note += "The old main key no longer works."
		}
	case "delete":
		if err := c.DeleteSecretKey(ctx, d.ID, d.Prefix); err != nil {
			return nil, out, toolError(err)
		}
		out.Deleted = client.SecretKey{SecretKey: d.Prefix}.Prefix()
	}
	return nil, out, nil
}

// --- whoami ---

// Whoami is what the whoami tool answers: GET /v2/me.
type Whoami struct {
	AccountID   string                 `json:"accountId"`
	Partner     bool                   `json:"partner" jsonschema:"whether the account is an OEM partner, which manage_customers needs"`
	Integration client.IDName          `json:"integration"`
	Key         client.MeKey           `json:"key"`
	Permissions []client.Permission    `json:"permissions"`
	Access      client.EffectiveAccess `json:"access"`
}

func (t *tools) whoami(ctx context.Context, req *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, Whoami, error) {
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, Whoami{}, toolError(err)
	}
	m, err := c.Me(ctx)
	if err != nil {
		return nil, Whoami{}, toolError(err)
	}
	out := Whoami{AccountID: m.AccountID, Partner: m.Partner, Integration: m.Integration, Key: m.Key, Permissions: m.Permissions, Access: m.Access}
	if out.Permissions == nil {
		out.Permissions = []client.Permission{}
	}
	return nil, out, nil
}

// --- manage_customers ---

// CustomersInput is manage_customers' argument, in the {operation, data}
// shape of the other tools.
type CustomersInput struct {
	Operation string         `json:"operation" jsonschema:"operation to perform: list, get, create, update, assign_keysets or keyset_customer"`
	Data      *CustomersData `json:"data,omitempty" jsonschema:"For 'list': {appId?}. For 'get': {id}. For 'create': {externalId, name, keysetIds?}. For 'update': {id, name}. For 'assign_keysets': {id, keysetIds}. For 'keyset_customer': {keysetId}."`
}

// CustomersData is the data of a manage_customers call.
type CustomersData struct {
	ID         string   `json:"id,omitempty" jsonschema:"customer ID"`
	ExternalID string   `json:"externalId,omitempty" jsonschema:"the partner's own ID for the customer (create)"`
	Name       string   `json:"name,omitempty" jsonschema:"customer name (create, update)"`
	KeysetIDs  []string `json:"keysetIds,omitempty" jsonschema:"keyset IDs to assign (create, assign_keysets)"`
	AppID      string   `json:"appId,omitempty" jsonschema:"list: only customers holding a keyset of this app"`
	KeysetID   string   `json:"keysetId,omitempty" jsonschema:"keyset_customer: the keyset whose customer to find"`
}

// CustomersOutput is what manage_customers answers: the customers listed,
// or the one asked for, made or changed.
type CustomersOutput struct {
	Customers []client.CustomerSummary `json:"customers,omitzero"`
	Total     *int                     `json:"total,omitempty"`
	Customer  *client.Customer         `json:"customer,omitempty"`
}

func (t *tools) manageCustomers(ctx context.Context, req *sdk.CallToolRequest, in CustomersInput) (*sdk.CallToolResult, CustomersOutput, error) {
	var d CustomersData
	if in.Data != nil {
		d = *in.Data
	}
	var bad argErrors
	switch in.Operation {
	case "list":
	case "get":
		bad.need(in.Operation, d.ID != "", "id")
	case "create":
		bad.need(in.Operation, d.ExternalID != "", "externalId")
		bad.need(in.Operation, d.Name != "", "name")
	case "update":
		bad.need(in.Operation, d.ID != "", "id")
		bad.need(in.Operation, d.Name != "", "name")
	case "assign_keysets":
		bad.need(in.Operation, d.ID != "", "id")
		bad.need(in.Operation, len(d.KeysetIDs) > 0, "keysetIds")
	case "keyset_customer":
		bad.need(in.Operation, d.KeysetID != "", "keysetId")
	default:
		bad.add(fmt.Sprintf("operation %q: want list, get, create, update, assign_keysets or keyset_customer", in.Operation))
	}
	if err := bad.err(); err != nil {
		return nil, CustomersOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, CustomersOutput{}, toolError(err)
	}
	var out CustomersOutput
	var cu client.Customer
	switch in.Operation {
	case "list":
		list, err := c.ListCustomers(ctx, d.AppID)
		if err != nil {
			return nil, out, toolError(err)
		}
		out.Customers = list
		if out.Customers == nil {
			out.Customers = []client.CustomerSummary{}
		}
		out.Total = ptr(len(out.Customers))
		return nil, out, nil
	case "get":
		cu, err = c.GetCustomer(ctx, d.ID)
	case "create":
		cu, err = c.CreateCustomer(ctx, client.NewCustomer{ExternalID: d.ExternalID, Name: d.Name, KeysetIDs: d.KeysetIDs})
	case "update":
		cu, err = c.RenameCustomer(ctx, d.ID, d.Name)
	case "assign_keysets":
		cu, err = c.AssignCustomerKeysets(ctx, d.ID, d.KeysetIDs...)
	case "keyset_customer":
		cu, err = c.KeysetCustomer(ctx, d.KeysetID)
	}
	if err != nil {
		return nil, out, toolError(err)
	}
	out.Customer = &cu
	return nil, out, nil
}

// --- manage_webhooks ---

// WebhooksInput is manage_webhooks' argument, in the {operation, data}
// shape of the other tools.
type WebhooksInput struct {
	Operation string        `json:"operation" jsonschema:"operation to perform: list, get, create, update, delete, rotate_secret, deliveries, retry or test"`
	Data      *WebhooksData `json:"data,omitempty" jsonschema:"For 'list': not required. For 'get', 'delete', 'test': {id}. For 'create': {url, events, description?}. For 'update': {id, url?, description?, events?, enabled?}. For 'rotate_secret': {id, oldSecretExpiresInSeconds?}. For 'deliveries': {id, status?, limit?}. For 'retry': {id, deliveryId}."`
}

// WebhooksData is the data of a manage_webhooks call.
type WebhooksData struct {
	ID          string   `json:"id,omitempty" jsonschema:"webhook ID"`
	URL         string   `json:"url,omitempty" jsonschema:"where the events are sent (create; update changes it): https, outside private networks, unless the server allows private targets"`
	Description *string  `json:"description,omitempty" jsonschema:"what the receiver is, for people (create; update changes it, \"\" clears it)"`
	Events      []string `json:"events,omitempty" jsonschema:"the event types sent, such as KeysetCreated, or [\"*\"] for every event (create; update replaces them)"`
	Enabled     *bool    `json:"enabled,omitempty" jsonschema:"update: false stops sending; true turns the webhook back on (also one the server disabled) and gives its waiting deliveries their retries afresh"`
	// OldSecretExpiresInSeconds mirrors manage_secret_keys'
	// oldKeyExpiresInSeconds; the server bounds the overlap.
	OldSecretExpiresInSeconds int    `json:"oldSecretExpiresInSeconds,omitempty" jsonschema:"rotate_secret: how long the old signing secret keeps signing beside the new one (at most 604800 seconds, 7 days); without it the old secret stops at once"`
	Status                    string `json:"status,omitempty" jsonschema:"deliveries: only those with this status"`
	Limit                     int    `json:"limit,omitempty" jsonschema:"deliveries: how many, newest first (1 to 100; default 20)"`
	DeliveryID                string `json:"deliveryId,omitempty" jsonschema:"retry: the delivery to send again (its event's ID, as 'deliveries' lists it)"`
}

// WebhooksOutput is what manage_webhooks answers: webhooks and deliveries
// as the API writes them. A webhook holds its signing secret only in the
// answers of 'create' and 'rotate_secret'.
type WebhooksOutput struct {
	Webhooks   []client.Webhook         `json:"webhooks,omitzero"`
	Total      *int                     `json:"total,omitempty"`
	Webhook    *client.Webhook          `json:"webhook,omitempty"`
	Deliveries []client.WebhookDelivery `json:"deliveries,omitzero"`
	Delivery   *client.WebhookDelivery  `json:"delivery,omitempty"`
	Deleted    string                   `json:"deleted,omitempty"`
	Note       string                   `json:"note,omitempty"`
}

// secretNote is said beside a signing secret, the one time it is shown.
const secretNote = "The signing secret (whsec_…) is shown this once: tell the user to give it to the receiver, which verifies each delivery's webhook-signature with it, or to store it in a secrets manager."

func (t *tools) manageWebhooks(ctx context.Context, req *sdk.CallToolRequest, in WebhooksInput) (*sdk.CallToolResult, WebhooksOutput, error) {
	var d WebhooksData
	if in.Data != nil {
		d = *in.Data
	}
	var bad argErrors
	switch in.Operation {
	case "list":
	case "get", "delete", "test":
		bad.need(in.Operation, d.ID != "", "id")
	case "create":
		bad.need(in.Operation, d.URL != "", "url")
		if len(d.Events) == 0 {
			bad.add(`data.events: required for 'create' (event types, or ["*"] for every event)`)
		}
	case "update":
		bad.need(in.Operation, d.ID != "", "id")
		if d.URL == "" && d.Description == nil && d.Events == nil && d.Enabled == nil {
			bad.add("data.url, data.description, data.events or data.enabled: one is required for 'update'")
		}
		if d.Events != nil && len(d.Events) == 0 {
			bad.add(`data.events: name an event type, or ["*"] for every event`)
		}
	case "rotate_secret":
		bad.need(in.Operation, d.ID != "", "id")
		if d.OldSecretExpiresInSeconds < 0 {
			bad.add("data.oldSecretExpiresInSeconds: must be positive")
		}
	case "deliveries":
		bad.need(in.Operation, d.ID != "", "id")
		if d.Limit != 0 && (d.Limit < 1 || d.Limit > keyplane.MaxDeliveriesLimit) {
			bad.add(fmt.Sprintf("data.limit %d: want 1 to %d deliveries", d.Limit, keyplane.MaxDeliveriesLimit))
		}
	case "retry":
		bad.need(in.Operation, d.ID != "", "id")
		bad.need(in.Operation, d.DeliveryID != "", "deliveryId")
	default:
		bad.add(fmt.Sprintf("operation %q: want list, get, create, update, delete, rotate_secret, deliveries, retry or test", in.Operation))
	}
	if err := bad.err(); err != nil {
		return nil, WebhooksOutput{}, err
	}
	c, err := t.clientFor(ctx, req)
	if err != nil {
		return nil, WebhooksOutput{}, toolError(err)
	}
	var out WebhooksOutput
	var w client.Webhook
	var dl client.WebhookDelivery
	switch in.Operation {
	case "list":
		out.Webhooks, err = c.ListWebhooks(ctx)
		if err != nil {
			return nil, WebhooksOutput{}, toolError(err)
		}
		if out.Webhooks == nil {
			out.Webhooks = []client.Webhook{}
		}
		out.Total = ptr(len(out.Webhooks))
		return nil, out, nil
	case "get":
		w, err = c.GetWebhook(ctx, d.ID)
	case "create":
		n := client.NewWebhook{URL: d.URL, Events: d.Events}
		if d.Description != nil {
			n.Description = *d.Description
		}
		w, err = c.CreateWebhook(ctx, n)
		out.Note = secretNote
	case "update":
		ch := client.WebhookChange{Description: d.Description, Events: d.Events, Enabled: d.Enabled}
		if d.URL != "" {
			ch.URL = &d.URL
		}
		w, err = c.UpdateWebhook(ctx, d.ID, ch)
	case "delete":
		if err := c.DeleteWebhook(ctx, d.ID); err != nil {
			return nil, WebhooksOutput{}, toolError(err)
		}
		out.Deleted = d.ID
		return nil, out, nil
	case "rotate_secret":
		var at *time.Time
		if d.OldSecretExpiresInSeconds > 0 {
			at = ptr(wallclock.Now().Add(time.Duration(d.OldSecretExpiresInSeconds) * time.Second))
		}
		w, err = c.RotateWebhookSecret(ctx, d.ID, at)
		out.Note = secretNote + " The old secret no longer signs."
		if at != nil {
			out.Note = secretNote + " The old secret signs beside it until " + keyplane.FormatTime(*at) + "."
		}
	case "deliveries":
		out.Deliveries, err = c.WebhookDeliveries(ctx, d.ID, d.Status, d.Limit)
		if err != nil {
			return nil, WebhooksOutput{}, toolError(err)
		}
		if out.Deliveries == nil {
			out.Deliveries = []client.WebhookDelivery{}
		}
		return nil, out, nil
	case "retry":
		dl, err = c.RetryWebhookDelivery(ctx, d.ID, d.DeliveryID)
	case "test":
		dl, err = c.TestWebhook(ctx, d.ID)
	}
	if err != nil {
		return nil, WebhooksOutput{}, toolError(err)
	}
	switch in.Operation {
	case "retry", "test":
		out.Delivery = &dl
	default:
		out.Webhook = &w
	}
	return nil, out, nil
}

// argErrors gathers what is wrong with a tool's arguments, to answer all of
// it at once.
type argErrors []string

// add notes one problem, in the words the answer gives.
func (a *argErrors) add(msg string) { *a = append(*a, msg) }

// need notes data.field as required for operation op unless ok.
func (a *argErrors) need(op string, ok bool, field string) {
	if !ok {
		a.add(fmt.Sprintf("data.%s: required for '%s'", field, op))
	}
}

// err is every problem noted, as one error, or nil.
func (a argErrors) err() error {
	if len(a) == 0 {
		return nil
	}
	return errors.New(strings.Join(a, "; "))
}
