package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/api"
)

func mustLoad(t *testing.T) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return v
}

// jsonHeader is the header of a /v2 JSON answer.
func jsonHeader() http.Header {
	return http.Header{
		"Content-Type":   {"application/json; charset=utf-8"},
		"Pubnub-Version": {"2026-09-03"},
	}
}

// taggedHeader is jsonHeader with a keyset's ETag.
func taggedHeader() http.Header {
	h := jsonHeader()
	h.Set("ETag", `"ks7v3"`)
	return h
}

const (
	ts        = "2026-11-23T10:00:00.000Z"
	pubKey    = "pub-c-4240e3e3-0e27-4e19-9c06-370935ca282d"
	subKey    = "sub-c-4240e3e3-0e27-4e19-9c06-370935ca282d"
	secretKey = "sec-c-AbC12dEf34GhI56jKl78MnO90pQr12StU34vWx56yZ"
)

// defaultConfig is the configuration of a keyset created without one:
// PubNub's (README, "Keyset configuration defaults").
const defaultConfig = `{
  "accessManager": {"enabled": false, "tokenRevoke": false},
  "files": {"enabled": true, "retention": 7, "region": "us-east-1"},
  "streamController": {"enabled": true, "wildcardSubscribe": true, "channelGroupLimit": 100},
  "appContext": {"enabled": true, "userMetadataEvents": true, "channelMetadataEvents": true,
    "membershipEvents": true, "disallowGetAllChannelMetadata": false,
    "disallowGetAllUserMetadata": false, "referentialIntegrity": false, "region": "aws-iad-1"},
  "dataSync": {"enabled": false, "region": null},
  "apns": {"enabled": false, "teamId": null, "authKeyId": null, "filename": null},
  "fcm": {"filename": null},
  "messagePersistence": {"enabled": true, "includePresenceEvents": false,
    "deleteFromHistory": false, "retention": 7},
  "presence": {"enabled": true, "deltas": false, "generateLeaveOnDisconnect": false,
    "streamFiltering": false, "activeNoticeChannel": null, "announceMax": 20,
    "interval": 10, "debounce": 2}
}`

// fullConfig has every optional value set.
const fullConfig = `{
  "accessManager": {"enabled": true, "tokenRevoke": true},
  "files": {"enabled": true, "retention": 0, "region": "eu-central-1"},
  "streamController": {"enabled": true, "wildcardSubscribe": false, "channelGroupLimit": 2000},
  "appContext": {"enabled": true, "userMetadataEvents": false, "channelMetadataEvents": true,
    "membershipEvents": true, "disallowGetAllChannelMetadata": true,
    "disallowGetAllUserMetadata": true, "referentialIntegrity": false, "region": "aws-fra-1"},
  "dataSync": {"enabled": true, "region": "aws-iad-1"},
  "apns": {"enabled": true, "teamId": "ABCD1234EF", "authKeyId": "XYZ9876ABC", "filename": "AuthKey_XYZ9876ABC.p8"},
  "fcm": {"filename": "firebase-service-account.json"},
  "messagePersistence": {"enabled": true, "includePresenceEvents": true,
    "deleteFromHistory": true, "retention": 365},
  "presence": {"enabled": true, "deltas": true, "generateLeaveOnDisconnect": true,
    "streamFiltering": true, "activeNoticeChannel": "notices.main", "announceMax": 100,
    "interval": 300, "debounce": 0}
}`

func app(id string) string {
	return fmt.Sprintf(`{"id":%q,"name":"Telemedicine","createdAt":%q,"updatedAt":%q}`, id, ts, ts)
}

func keyset(id string) string {
	return fmt.Sprintf(`{"id":%q,"appId":"1","name":"prod","type":"production","publishKey":%q,"subscribeKey":%q,"createdAt":%q,"updatedAt":%q}`,
		id, pubKey, subKey, ts, ts)
}

func keysetCreated(config string) string {
	return fmt.Sprintf(`{"keyset":{"id":"7","appId":"1","name":"Default Keyset","type":"testing","publishKey":%q,"subscribeKey":%q,"createdAt":%q,"updatedAt":%q,"secretKeys":[{"secretKey":%q,"expiresAt":null}]},"config":%s}`,
		pubKey, subKey, ts, ts, secretKey, config)
}

func errBody(status int, name string) string {
	return fmt.Sprintf(`{"statusCode":%d,"error":%q,"message":["something: wrong"]}`, status, name)
}

// TestSpecConfigDefaults: the spec shows a new keyset's configuration as
// the Config schema's example, and it is the server's (keyplane.DefaultConfig)
// and PubNub's (defaultConfig), and valid by the schema itself.
func TestSpecConfigDefaults(t *testing.T) {
	v := mustLoad(t)
	ref := v.doc.Components.Schemas["Config"]
	if ref == nil || ref.Value == nil || len(ref.Value.Examples) != 1 {
		t.Fatalf("components.schemas.Config has no single example")
	}
	example, err := json.Marshal(ref.Value.Examples[0])
	if err != nil {
		t.Fatal(err)
	}
	server, err := json.Marshal(keyplane.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	asMap := func(b []byte) (m map[string]any) {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if diff := cmp.Diff(asMap([]byte(defaultConfig)), asMap(example)); diff != "" {
		t.Errorf("Config example is not PubNub's defaults (-want +spec):\n%s", diff)
	}
	if diff := cmp.Diff(asMap(server), asMap(example)); diff != "" {
		t.Errorf("Config example is not keyplane.DefaultConfig (-server +spec):\n%s", diff)
	}
	if err := ref.Value.VisitJSON(asMap(example)); err != nil {
		t.Errorf("Config example fails its own schema: %v", err)
	}
}

func TestLoadIsValid31(t *testing.T) {
	v := mustLoad(t)
	if !strings.HasPrefix(v.doc.OpenAPI, "3.1.") || !v.doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", v.doc.OpenAPI)
	}
	if !bytes.HasPrefix(api.Spec, []byte("openapi: 3.1.")) {
		t.Errorf("api.Spec does not start with the 3.1 version line")
	}
}

// TestLoadRefuses makes sure Load's own checks bite, on altered copies of the
// spec.
func TestLoadRefuses(t *testing.T) {
	spec := string(api.Spec)
	tests := []struct {
		name, old, new, want string
	}{
		{"openapi 3.0", "openapi: 3.1.0", "openapi: 3.0.3", "want 3.1"},
		{"no permission", "      operationId: getApp\n      summary: Get an app\n      description: One app by id.\n      x-required-permission:\n",
			"      operationId: getApp\n      summary: Get an app\n      description: One app by id.\n      x-other:\n", "no x-required-permission"},
		{"bad permission level", "{ level: keyset, resource: keyset, access: read }", "{ level: org, resource: keyset, access: read }", `level must be account`},
		{"ungrantable row", "{ level: app, resource: app, access: read }", "{ level: keyset, resource: app, access: read }", "App is not offered at keyset level"},
		{"no operationId", "      operationId: deleteKeyset\n", "", "no operationId"},
		{"bad status", "        \"409\":\n          $ref: \"#/components/responses/Conflict\"\n        \"429\"",
			"        \"4099\":\n          $ref: \"#/components/responses/Conflict\"\n        \"429\"", "not a status code"},
		{"invalid document", "type: [integer, \"null\"]", "type: [integr, \"null\"]", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(spec, tt.old) {
				t.Fatalf("spec does not contain %q", tt.old)
			}
			_, err := load([]byte(strings.Replace(spec, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	v := mustLoad(t)
	r := func(level, resource, access string) Permission { return Permission{level, resource, access} }
	want := []Operation{
		{"GET", "/v2/apps", "listApps", []Permission{r("account", "app", "read")}, nil},
		{"POST", "/v2/apps", "createApp", []Permission{r("account", "app", "read-write")}, nil},
		{"GET", "/v2/apps/{appId}", "getApp", []Permission{r("app", "app", "read")}, nil},
		{"PATCH", "/v2/apps/{appId}", "updateApp", []Permission{r("app", "app", "read-write")}, nil},
		{"DELETE", "/v2/apps/{appId}", "deleteApp", []Permission{r("app", "app", "read-write")}, nil},
		{"GET", "/v2/audit-events", "listAuditEvents", []Permission{r("account", "audit-log", "read")}, nil},
		{"POST", "/v2/authz/check", "checkAuthz", []Permission{}, nil},
		{"GET", "/v2/keysets", "listKeysets", []Permission{r("account", "keyset", "read")}, nil},
		{"POST", "/v2/keysets", "createKeyset", []Permission{r("app", "keyset", "read-write"), r("app", "secret-key", "read")}, nil},
		{"GET", "/v2/keysets/{keysetId}", "getKeyset", []Permission{r("keyset", "keyset", "read")}, nil},
		{"PATCH", "/v2/keysets/{keysetId}", "updateKeyset", []Permission{r("keyset", "keyset", "read-write")}, nil},
		{"DELETE", "/v2/keysets/{keysetId}", "deleteKeyset", []Permission{r("keyset", "keyset", "read-write")}, nil},
		{"GET", "/v2/keysets/{keysetId}/config", "getKeysetConfig", []Permission{r("keyset", "keyset", "read")}, nil},
		{"PATCH", "/v2/keysets/{keysetId}/config", "updateKeysetConfig", []Permission{r("keyset", "keyset", "read-write")}, nil},
		{"POST", "/v2/keysets/{keysetId}/config/apns", "uploadApnsCredentials", []Permission{r("keyset", "keyset", "read-write")}, nil},
		{"POST", "/v2/keysets/{keysetId}/config/fcm", "uploadFcmCredentials", []Permission{r("keyset", "keyset", "read-write")}, nil},
		{"GET", "/v2/keysets/{keysetId}/secret-keys", "listSecretKeys", []Permission{r("keyset", "secret-key", "read")}, nil},
		{"POST", "/v2/keysets/{keysetId}/secret-keys", "rotateSecretKey", []Permission{r("keyset", "secret-key", "read-write")}, nil},
		{"PATCH", "/v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}", "updateSecretKeyExpiration", []Permission{r("keyset", "secret-key", "read-write")}, nil},
		{"DELETE", "/v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}", "deleteSecretKey", []Permission{r("keyset", "secret-key", "read-write")}, nil},
		{"GET", "/v2/me", "getMe", []Permission{}, nil},
		{"GET", "/v2/oem/customers", "listOemCustomers", []Permission{r("account", "oem-customer", "read")}, nil},
		{"POST", "/v2/oem/customers", "createOemCustomer", []Permission{r("account", "oem-customer", "read-write")}, nil},
		{"GET", "/v2/oem/customers/{customerId}", "getOemCustomer", []Permission{r("account", "oem-customer", "read")}, nil},
		{"PUT", "/v2/oem/customers/{customerId}", "updateOemCustomer", []Permission{r("account", "oem-customer", "read-write")}, nil},
		{"GET", "/v2/oem/customers/{customerId}/applications", "listOemCustomerApplications", []Permission{r("account", "oem-customer", "read")}, nil},
		{"POST", "/v2/oem/customers/{customerId}/keysets", "assignOemCustomerKeysets", []Permission{r("account", "oem-customer", "read-write")}, nil},
		{"GET", "/v2/oem/keysets", "listOemKeysets", []Permission{r("account", "oem-customer", "read")}, nil},
		{"GET", "/v2/oem/keysets/{keysetId}/customer", "getOemKeysetCustomer", []Permission{r("account", "oem-customer", "read")}, nil},
		{"GET", "/v2/usage-metrics", "getUsageMetrics", []Permission{r("account", "usage", "read")}, nil},
		{"POST", "/v2/usage-metrics", "reportUsageMetrics", []Permission{r("account", "usage-report", "write")}, nil},
	}
	got := v.Operations()
	// Query is held to the code by TestSpecQueryMatchesTheCode.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Operation{}, "Query")); diff != "" {
		t.Errorf("Operations() mismatch (-want +got):\n%s", diff)
	}
	got[0].Permissions[0].Level = "changed"
	if v.Operations()[0].Permissions[0].Level != "account" {
		t.Error("Operations() shares its slices with the validator")
	}
}

// TestSpecConventions checks, operation by operation, what the README and
// the spec's introduction promise of every /v2 operation.
func TestSpecConventions(t *testing.T) {
	v := mustLoad(t)
	withConflict := []string{"deleteApp", "rotateSecretKey", "createOemCustomer", "assignOemCustomerKeysets"}
	ops, operatorOps := 0, 0
	for _, template := range v.doc.Paths.InMatchingOrder() {
		item := v.doc.Paths.Value(template)
		for method, op := range item.Operations() {
			where := method + " " + template
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			}
			// The operator API takes operator keys and nothing else, and
			// answers its errors in the Error body like /v2.
			if strings.HasPrefix(template, "/operator/") {
				operatorOps++
				if op.Security == nil || len(*op.Security) != 1 || len((*op.Security)[0]) != 1 || (*op.Security)[0]["operatorKey"] == nil {
					t.Errorf("%s: an operator route must take the operatorKey security alone", where)
				}
				if _, ok := op.Extensions[PermissionExtension]; ok {
					t.Errorf("%s: the operator holds no permission rows", where)
				}
				for code, resp := range op.Responses.Map() {
					if code[0] == '2' {
						continue
					}
					s := resp.Value.Content.Get("application/json").Schema.Value
					if len(s.AllOf) != 2 || s.AllOf[0].Ref != "#/components/schemas/Error" {
						t.Errorf("%s %s: the body is not the Error schema", where, code)
					}
				}
				if op.Responses.Value("401") == nil {
					t.Errorf("%s: no 401", where)
				}
				continue
			}
			if !strings.HasPrefix(template, "/v2/") {
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s: a service route must not need a key", where)
				}
				continue
			}
			ops++
			if _, ok := op.Extensions[PermissionExtension]; !ok {
				t.Errorf("%s: no %s", where, PermissionExtension)
			}
			if !hasVersionHeader(item, op) {
				t.Errorf("%s: no required PubNub-Version header parameter", where)
			}
			if op.Security != nil {
				t.Errorf("%s: must use the document's API key security", where)
			}
			want := []string{"400", "401", "403", "429", "500", "503"}
			if op.OperationID != "reportUsageMetrics" { // names no object that could be missing
				want = append(want, "404")
			}
			// A body may be too large, or sent as something else than JSON.
			if op.RequestBody != nil {
				want = append(want, "413", "415")
			}
			// Keysets and their configuration take If-Match (README, Compatibility).
			if op.OperationID == "updateKeyset" || op.OperationID == "updateKeysetConfig" {
				want = append(want, "412")
				if !hasParam(op, "header", "If-Match") {
					t.Errorf("%s: no If-Match header parameter", where)
				}
			}
			if slices.Contains(withConflict, op.OperationID) || method == "POST" {
				want = append(want, "409")
			}
			// Every POST takes an Idempotency-Key (README, Compatibility).
			if method == "POST" {
				want = append(want, "422")
				if !hasParam(op, "header", "Idempotency-Key") {
					t.Errorf("%s: no Idempotency-Key header parameter", where)
				}
			}
			var errorCodes []string
			success := 0
			for code, resp := range op.Responses.Map() {
				if h := resp.Value.Headers["PubNub-Version"]; h == nil {
					t.Errorf("%s %s: no PubNub-Version response header", where, code)
				} else if code[0] == '2' && !h.Value.Required {
					t.Errorf("%s %s: PubNub-Version must be required on success", where, code)
				}
				if code[0] == '2' {
					success++
					continue
				}
				errorCodes = append(errorCodes, code)
				s := resp.Value.Content.Get("application/json").Schema.Value
				if len(s.AllOf) != 2 || s.AllOf[0].Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: the body is not the Error schema", where, code)
				}
			}
			slices.Sort(want)
			slices.Sort(errorCodes)
			if !slices.Equal(want, errorCodes) {
				t.Errorf("%s: error statuses %v, want %v", where, errorCodes, want)
			}
			if success != 1 {
				t.Errorf("%s: %d success statuses, want 1", where, success)
			}
		}
	}
	if ops != len(keyplane.Operations) {
		t.Errorf("%d /v2 operations, want %d", ops, len(keyplane.Operations))
	}
	if operatorOps != 7 {
		t.Errorf("%d operator API operations, want 7 (list, create, get, rename, disable, enable, owner)", operatorOps)
	}
	if s := v.doc.Components.SecuritySchemes["operatorKey"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("security scheme operatorKey is not a bearer token")
	}
	if s := v.doc.Components.SecuritySchemes["apiKey"]; s == nil || s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != "Authorization" {
		t.Errorf("security scheme apiKey is not an API key in the Authorization header")
	}
}

// hasParam reports whether op declares the parameter name in in.
func hasParam(op *openapi3.Operation, in, name string) bool {
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == in && strings.EqualFold(p.Value.Name, name) {
			return true
		}
	}
	return false
}

type response struct {
	name   string
	method string
	path   string
	status int
	header http.Header
	body   string
}

func TestCheckAccepts(t *testing.T) {
	v := mustLoad(t)
	noVersion := http.Header{"Content-Type": {"application/json"}}
	yaml := http.Header{"Content-Type": {"application/yaml"}}
	tests := []response{
		{"list apps", "GET", "/v2/apps?page=1&limit=100", 200, jsonHeader(),
			`{"apps":[` + app("1") + `,` + app("2") + `],"total":2,"page":1,"limit":100}`},
		{"empty app list", "GET", "/v2/apps", 200, jsonHeader(), `{"apps":[],"total":0,"page":3,"limit":10}`},
		{"create app", "POST", "/v2/apps", 201, jsonHeader(), app("12")},
		{"get app", "GET", "/v2/apps/12", 200, jsonHeader(), app("12")},
		{"rename app", "PATCH", "/v2/apps/12", 200, jsonHeader(), app("12")},
		{"delete app", "DELETE", "/v2/apps/12", 200, jsonHeader(), `{"success":true}`},
		{"delete app with keysets", "DELETE", "/v2/apps/12", 409, jsonHeader(), errBody(409, "Conflict")},
		{"list keysets", "GET", "/v2/keysets", 200, jsonHeader(),
			`{"keysets":[` + keyset("1") + `],"total":1,"page":1,"limit":10}`},
		{"create keyset, defaults", "POST", "/v2/keysets", 201, jsonHeader(), keysetCreated(defaultConfig)},
		{"create keyset, everything set", "POST", "/v2/keysets", 201, jsonHeader(), keysetCreated(fullConfig)},
		{"get keyset", "GET", "/v2/keysets/7", 200, taggedHeader(), keyset("7")},
		{"update keyset", "PATCH", "/v2/keysets/7", 200, taggedHeader(), keyset("7")},
		{"delete keyset", "DELETE", "/v2/keysets/7", 200, jsonHeader(), `{"success":true}`},
		{"get config", "GET", "/v2/keysets/7/config", 200, taggedHeader(), defaultConfig},
		{"patch config", "PATCH", "/v2/keysets/7/config", 200, taggedHeader(), fullConfig},
		{"list secret keys", "GET", "/v2/keysets/7/secret-keys?activeOnly=true", 200, jsonHeader(),
			`{"secretKeys":[{"secretKey":"sec-c-AAAAA1","expiresAt":null},{"secretKey":"sec-c-BBBBB2","expiresAt":"` + ts + `"}]}`},
		{"rotate", "POST", "/v2/keysets/7/secret-keys", 201, jsonHeader(), `{"secretKey":"` + secretKey + `"}`},
		{"rotate at the limit", "POST", "/v2/keysets/7/secret-keys", 409, jsonHeader(), errBody(409, "Conflict")},
		{"new expiry", "PATCH", "/v2/keysets/7/secret-keys/sec-c-AbC12", 200, jsonHeader(),
			`{"secretKey":{"secretKey":"` + secretKey + `","expiresAt":"` + ts + `"}}`},
		{"delete rotated key", "DELETE", "/v2/keysets/7/secret-keys/sec-c-AbC12", 200, jsonHeader(), `{"success":true}`},
		{"bad request without version", "GET", "/v2/apps", 400, noVersion, errBody(400, "BadRequest")},
		{"bad request with version", "POST", "/v2/keysets", 400, jsonHeader(),
			`{"statusCode":400,"error":"BadRequest","message":["keyset.appId: required","config.files.region: unknown value"]}`},
		{"unauthorized", "GET", "/v2/keysets/7/config", 401, noVersion, errBody(401, "Unauthorized")},
		{"forbidden", "DELETE", "/v2/keysets/7", 403, jsonHeader(), errBody(403, "Forbidden")},
		{"not found", "GET", "/v2/apps/999", 404, jsonHeader(), errBody(404, "NotFound")},
		{"too large", "PATCH", "/v2/keysets/7/config", 413, jsonHeader(), errBody(413, "PayloadTooLarge")},
		{"internal error", "GET", "/v2/keysets", 500, jsonHeader(), errBody(500, "InternalError")},
		{"healthz", "GET", "/healthz", 200, noVersion, `{"status":"ok"}`},
		{"readyz", "GET", "/readyz", 200, noVersion, `{"status":"ok"}`},
		{"readyz down", "GET", "/readyz", 503, noVersion, `{"statusCode":503,"error":"InternalError","message":["not ready"]}`},
		{"openapi.yaml", "GET", "/openapi.yaml", 200, yaml, string(api.Spec)},
		{"head", "HEAD", "/v2/apps/12", 200, jsonHeader(), ""},
		{"unknown route", "GET", "/v2/oem/access-token", 404, noVersion, errBody(404, "NotFound")},
		{"unknown method", "PUT", "/v2/apps/12", 405, noVersion, errBody(405, "MethodNotAllowed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := v.Check(tt.method, tt.path, tt.status, tt.header, []byte(tt.body)); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	v := mustLoad(t)
	dropVersion := jsonHeader()
	dropVersion.Del("PubNub-Version")
	badVersion := jsonHeader()
	badVersion.Set("PubNub-Version", "2024-01-01")
	textPlain := jsonHeader()
	textPlain.Set("Content-Type", "text/plain")
	withoutPub := strings.Replace(keyset("7"), `"publishKey":"`+pubKey+`",`, "", 1)
	tests := []response{
		// Statuses the operation does not declare.
		{"undeclared status", "GET", "/v2/apps", 418, jsonHeader(), `{}`},
		{"200 for a create", "POST", "/v2/keysets", 200, jsonHeader(), keysetCreated(defaultConfig)},
		{"409 where none is declared", "GET", "/v2/apps/1", 409, jsonHeader(), errBody(409, "Conflict")},
		{"413 without a body", "GET", "/v2/keysets", 413, jsonHeader(), errBody(413, "PayloadTooLarge")},
		{"405 on a known method", "GET", "/v2/apps", 405, jsonHeader(), errBody(405, "MethodNotAllowed")},
		// Missing required fields.
		{"keyset without publishKey", "GET", "/v2/keysets/7", 200, jsonHeader(), withoutPub},
		{"create answer without secretKeys", "POST", "/v2/keysets", 201, jsonHeader(),
			`{"keyset":` + keyset("7") + `,"config":` + defaultConfig + `}`},
		{"config without presence.debounce", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(defaultConfig, `, "debounce": 2`, "", 1)},
		{"error without message", "GET", "/v2/apps", 400, jsonHeader(), `{"statusCode":400,"error":"BadRequest"}`},
		{"list without total", "GET", "/v2/apps", 200, jsonHeader(), `{"apps":[],"page":1,"limit":10}`},
		// Extra fields.
		{"extra field in the error body", "GET", "/v2/apps/1", 404, jsonHeader(),
			`{"statusCode":404,"error":"NotFound","message":["app 1: not found"],"details":"x"}`},
		{"secret keys on a GET keyset", "GET", "/v2/keysets/7", 200, jsonHeader(),
			strings.TrimSuffix(keyset("7"), "}") + `,"secretKeys":[{"secretKey":"` + secretKey + `","expiresAt":null}]}`},
		{"extra config field", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(defaultConfig, `"tokenRevoke": false`, `"tokenRevoke": false, "ttl": 5`, 1)},
		// Wrong types and values.
		{"numeric app id", "GET", "/v2/apps/1", 200, jsonHeader(), `{"id":1,"name":"a","createdAt":"` + ts + `","updatedAt":"` + ts + `"}`},
		{"total as a string", "GET", "/v2/keysets", 200, jsonHeader(), `{"keysets":[],"total":"0","page":1,"limit":10}`},
		{"statusCode as a string", "GET", "/v2/apps/1", 404, jsonHeader(), `{"statusCode":"404","error":"NotFound","message":["x"]}`},
		{"message as a string", "GET", "/v2/apps/1", 404, jsonHeader(), `{"statusCode":404,"error":"NotFound","message":"x"}`},
		{"empty message", "GET", "/v2/apps/1", 404, jsonHeader(), `{"statusCode":404,"error":"NotFound","message":[]}`},
		{"error name of another status", "GET", "/v2/apps/1", 404, jsonHeader(), errBody(404, "BadRequest")},
		{"statusCode of another status", "GET", "/v2/apps/1", 404, jsonHeader(), errBody(400, "NotFound")},
		{"malformed publishKey", "GET", "/v2/keysets/7", 200, jsonHeader(),
			strings.Replace(keyset("7"), pubKey, "pub-c-1234567890abcdef", 1)},
		{"publishKey in upper case", "GET", "/v2/keysets/7", 200, jsonHeader(),
			strings.Replace(keyset("7"), pubKey, strings.ToUpper(pubKey), 1)},
		{"unknown keyset type", "GET", "/v2/keysets/7", 200, jsonHeader(),
			strings.Replace(keyset("7"), `"production"`, `"staging"`, 1)},
		{"timestamp without milliseconds", "GET", "/v2/apps/1", 200, jsonHeader(),
			strings.Replace(app("1"), ts, "2026-11-23T10:00:00Z", 1)},
		{"retention not allowed", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(fullConfig, `"retention": 365`, `"retention": 5`, 1)},
		{"unknown region", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(fullConfig, `"aws-fra-1"`, `"mars-1"`, 1)},
		{"null where not nullable", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(defaultConfig, `"announceMax": 20`, `"announceMax": null`, 1)},
		{"channel-group limit out of range", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(defaultConfig, `"channelGroupLimit": 100`, `"channelGroupLimit": 2001`, 1)},
		{"bool as a string", "GET", "/v2/keysets/7/config", 200, jsonHeader(),
			strings.Replace(defaultConfig, `"deltas": false`, `"deltas": "false"`, 1)},
		{"expiresAt as a number", "GET", "/v2/keysets/7/secret-keys", 200, jsonHeader(),
			`{"secretKeys":[{"secretKey":"` + secretKey + `","expiresAt":0}]}`},
		{"secret key without sec-c-", "POST", "/v2/keysets/7/secret-keys", 201, jsonHeader(), `{"secretKey":"abc"}`},
		{"success false", "DELETE", "/v2/keysets/7", 200, jsonHeader(), `{"success":false}`},
		// Headers and encoding.
		{"no PubNub-Version", "GET", "/v2/apps/1", 200, dropVersion, app("1")},
		{"no PubNub-Version on a 404", "GET", "/v2/apps/1", 404, dropVersion, errBody(404, "NotFound")},
		{"PubNub-Version that is no release", "GET", "/v2/apps/1", 200, badVersion, app("1")},
		{"not JSON", "GET", "/v2/apps/1", 200, jsonHeader(), `not json`},
		{"empty body", "GET", "/v2/apps/1", 200, jsonHeader(), ``},
		{"wrong content type", "GET", "/v2/apps/1", 200, textPlain, app("1")},
		{"no content type", "GET", "/v2/apps/1", 200, http.Header{"Pubnub-Version": {"2026-09-03"}}, app("1")},
		// Outside the operations.
		{"unknown route answered 200", "GET", "/v2/nothing", 200, jsonHeader(), `{}`},
		{"unknown route, wrong body", "GET", "/v2/nothing", 404, jsonHeader(), `{"error":"NotFound"}`},
		{"trailing slash answered 200", "GET", "/v2/apps/", 200, jsonHeader(), `{"apps":[],"total":0,"page":1,"limit":10}`},
		{"unknown method answered 404", "PUT", "/v2/apps/1", 404, jsonHeader(), errBody(404, "NotFound")},
		{"unknown method, wrong name", "PUT", "/v2/apps/1", 405, jsonHeader(), errBody(405, "NotFound")},
		{"healthz not ok", "GET", "/healthz", 200, jsonHeader(), `{"status":"down"}`},
		{"healthz 503", "GET", "/healthz", 503, jsonHeader(), errBody(503, "InternalError")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Check(tt.method, tt.path, tt.status, tt.header, []byte(tt.body))
			if err == nil {
				t.Fatal("Check accepted it")
			}
			if len(err.Error()) > 4000 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
			t.Log(err)
		})
	}
}

// TestCheckRoutes checks that concrete paths find their operation, literal
// segments winning over parameters.
func TestCheckRoutes(t *testing.T) {
	v := mustLoad(t)
	tests := []struct{ path, want string }{
		{"/v2/apps", "/v2/apps"},
		{"/v2/apps/12", "/v2/apps/{appId}"},
		{"/v2/apps/abc", "/v2/apps/{appId}"},
		{"/v2/keysets/12/config", "/v2/keysets/{keysetId}/config"},
		{"/v2/keysets/12/secret-keys", "/v2/keysets/{keysetId}/secret-keys"},
		{"/v2/keysets/12/secret-keys/sec-c-AbC12", "/v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}"},
		{"/v2/keysets/config/config", "/v2/keysets/{keysetId}/config"},
		{"/v2/apps//", ""},
		{"/v2/keysets/12/config/apns", "/v2/keysets/{keysetId}/config/apns"},
		{"/v2/keysets/12/config/gcm", ""},
		{"/v1/apps", ""},
	}
	for _, tt := range tests {
		r, ok := v.match(tt.path)
		if got := r.template; ok != (tt.want != "") || got != tt.want {
			t.Errorf("match(%q) = %q, %v; want %q", tt.path, got, ok, tt.want)
		}
	}
}

// TestCheckConcurrent is for the race detector: end-to-end tests check
// answers from parallel tests with one Validator.
func TestCheckConcurrent(t *testing.T) {
	v := mustLoad(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			body := keysetCreated(defaultConfig)
			if i%2 == 1 {
				body = keysetCreated(fullConfig)
			}
			if err := v.Check("POST", "/v2/keysets", 201, jsonHeader(), []byte(body)); err != nil {
				t.Error(err)
			}
			if err := v.Check("GET", "/v2/apps/1", 404, jsonHeader(), []byte(`{"statusCode":404}`)); err == nil {
				t.Error("accepted an incomplete error body")
			}
		})
	}
	wg.Wait()
}

// TestRequestSchemas checks the request-body schemas, which Check never
// uses, on bodies the README shows and bodies the server must refuse.
func TestRequestSchemas(t *testing.T) {
	v := mustLoad(t)
	tests := []struct {
		schema string
		body   string
		ok     bool
	}{
		{"AppInput", `{"name":"Telemedicine"}`, true},
		{"AppInput", `{}`, false},
		{"AppInput", `{"name":"   "}`, false},
		{"AppInput", `{"name":"a","id":"1"}`, false},
		{"KeysetCreate", `{"keyset":{"name":"prod","type":"production","appId":"1"}}`, true},
		{"KeysetCreate", `{"keyset":{"appId":"12"},"config":{"accessManager":{"enabled":true,"tokenRevoke":true}}}`, true},
		{"KeysetCreate", `{"keyset":{"appId":12}}`, false},
		{"KeysetCreate", `{"keyset":{"appId":"app_1"}}`, false},
		{"KeysetCreate", `{"keyset":{"name":"prod"}}`, false},
		{"KeysetCreate", `{"keyset":{"appId":"1","secretKeys":[]}}`, false},
		{"KeysetUpdate", `{"type":"testing"}`, true},
		{"KeysetUpdate", `{}`, false},
		{"ConfigPatch", `{"messagePersistence":{"enabled":true,"retention":30}}`, true},
		{"ConfigPatch", `{"accessManager":{"enabled":true,"tokenRevoke":true},"appContext":{"enabled":true,"disallowGetAllChannelMetadata":true}}`, true},
		{"ConfigPatch", `{"files":{"region":null,"retention":null},"presence":{"activeNoticeChannel":null}}`, true},
		{"ConfigPatch", defaultConfig, true},
		{"ConfigPatch", fullConfig, true},
		{"ConfigPatch", `{"files":{"retention":3}}`, false},
		{"ConfigPatch", `{"presence":{"interval":5}}`, false},
		{"ConfigPatch", `{"presence":{"activeNoticeChannel":"a,b"}}`, false},
		{"ConfigPatch", `{"apns":{"filename":"dir/key.p8"}}`, false},
		{"ConfigPatch", `{"apns":{"teamId":"short"}}`, false},
		{"ConfigPatch", `{"presence":{"enableLegacyStuff":true}}`, false},
		{"ConfigPatch", `{"billing":{}}`, false},
		{"SecretKeyRotate", `{}`, true},
		{"SecretKeyRotate", `{"expiresAt":"2026-12-01T00:00:00Z"}`, true},
		{"SecretKeyRotate", `{"expiresAt":"2026-12-01"}`, false},
		{"SecretKeyExpiration", `{"expiresAt":"2026-12-01T00:00:00.000Z"}`, true},
		{"SecretKeyExpiration", `{}`, false},
	}
	for _, tt := range tests {
		var value any
		if err := json.Unmarshal([]byte(tt.body), &value); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		err := v.doc.Components.Schemas[tt.schema].Value.VisitJSON(value, openapi3.EnableJSONSchema2020())
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: err = %v, want ok = %v", tt.schema, tt.body, err, tt.ok)
		}
	}
}

// The spec's event types are exactly those the API records and its type
// filter accepts (keyplane.EventTypes), in the same order.
func TestSpecEventTypes(t *testing.T) {
	v := mustLoad(t)
	ref := v.doc.Components.Schemas["AuditEvent"]
	if ref == nil || ref.Value == nil || ref.Value.Properties["type"] == nil {
		t.Fatal("components.schemas.AuditEvent has no type")
	}
	var spec []string
	for _, e := range ref.Value.Properties["type"].Value.Enum {
		s, _ := e.(string)
		spec = append(spec, s)
	}
	if diff := cmp.Diff(keyplane.EventTypes, spec); diff != "" {
		t.Errorf("AuditEvent.type enum differs from keyplane.EventTypes (-server +spec):\n%s", diff)
	}
}
