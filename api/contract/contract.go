// Package contract checks HTTP answers against Keyplane's OpenAPI contract
// (api.Spec). End-to-end tests pass every response they receive to
// Validator.Check, so an answer the contract does not allow (an undeclared
// status, a body that breaks its schema, a missing header) fails the test
// that received it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/keyplane/keyplane/api"

	"github.com/keyplane/keyplane"
)

// PermissionExtension is the vendor field of an operation that lists the
// permission rows the operation needs.
const PermissionExtension = "x-required-permission"

// Permission is one permission row an operation needs: access to a kind of
// resource, held at a level (a row at a level covers everything below it).
type Permission struct {
	Level    string `json:"level"`    // account, app or keyset
	Resource string `json:"resource"` // a keyplane.Resource: app, keyset, secret-key, usage, …
	Access   string `json:"access"`   // read or read-write
}

// Operation is one operation of the contract.
type Operation struct {
	Method      string       // upper case: GET, POST, PATCH, DELETE
	Path        string       // the path template, e.g. /v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}
	OperationID string       // e.g. rotateSecretKey
	Permissions []Permission // every row is needed; empty outside /v2, and for operations any valid key may call
	Query       []string     // the query parameters it declares, in the order declared
}

// Validator checks answers against the contract. It is safe for concurrent
// use.
type Validator struct {
	doc    *openapi3.T
	routes []route
	ops    []Operation // the /v2 operations, in path then method order
}

// route is one path of the contract, split into segments for matching.
type route struct {
	template string
	segments []string // "{name}" for a parameter
	item     *openapi3.PathItem
}

// versionedPrefix is where the versioned, authenticated API lives; every
// operation under it must carry the version header and permission rows.
const versionedPrefix = "/v2/"

// methodOrder is the order Operations lists the methods of one path in.
var methodOrder = []string{
	http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
}

// Load parses api.Spec, checks that it is a valid OpenAPI 3.1 document and
// that every /v2 operation carries an operationId, the PubNub-Version header
// parameter and well-formed permission rows.
func Load() (*Validator, error) {
	return load(api.Spec)
}

func load(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("contract: parse: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		return nil, fmt.Errorf("contract: openapi version %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: invalid document: %w", err)
	}
	if s := doc.Components.Schemas["Error"]; s == nil || s.Value == nil {
		return nil, errors.New("contract: components.schemas.Error is missing")
	}

	v := &Validator{doc: doc}
	seen := map[string]string{} // operationId → where
	var problems []string
	for _, template := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(template)
		v.routes = append(v.routes, route{template: template, segments: split(template), item: item})
		for _, method := range methodOrder {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			where := method + " " + template
			if op.OperationID == "" {
				problems = append(problems, where+": no operationId")
			} else if prev, dup := seen[op.OperationID]; dup {
				problems = append(problems, fmt.Sprintf("%s: operationId %q also used by %s", where, op.OperationID, prev))
			}
			seen[op.OperationID] = where
			for code := range op.Responses.Map() {
				if code == "default" || len(code) != 3 || code[0] < '1' || code[0] > '5' {
					problems = append(problems, fmt.Sprintf("%s: response %q is not a status code", where, code))
				}
			}
			if !strings.HasPrefix(template, versionedPrefix) {
				continue
			}
			perms, err := permissions(op)
			if err != nil {
				problems = append(problems, where+": "+err.Error())
			}
			if !hasVersionHeader(item, op) {
				problems = append(problems, where+": no required PubNub-Version header parameter")
			}
			v.ops = append(v.ops, Operation{Method: method, Path: template, OperationID: op.OperationID, Permissions: perms, Query: queryParams(item, op)})
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("contract: %s", strings.Join(problems, "; "))
	}
	slices.SortStableFunc(v.ops, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return slices.Index(methodOrder, a.Method) - slices.Index(methodOrder, b.Method)
	})
	return v, nil
}

// permissions decodes and checks the x-required-permission rows of op.
func permissions(op *openapi3.Operation) ([]Permission, error) {
	raw, ok := op.Extensions[PermissionExtension]
	if !ok {
		return nil, fmt.Errorf("no %s", PermissionExtension)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var perms []Permission
	if err := dec.Decode(&perms); err != nil {
		return nil, fmt.Errorf("%s: %w", PermissionExtension, err)
	}
	// An empty list is a deliberate statement: any valid key may call the
	// operation (it is about the key itself, as /v2/me is).
	if perms == nil {
		return nil, fmt.Errorf("%s: null; write [] for an operation any valid key may call", PermissionExtension)
	}
	for _, p := range perms {
		if err := p.valid(); err != nil {
			return nil, fmt.Errorf("%s: %w", PermissionExtension, err)
		}
	}
	return perms, nil
}

// valid reports whether p is a row a key can be granted: the domain's own
// grant parser decides, so the contract cannot drift from the code.
func (p Permission) valid() error {
	scope := p.Level
	if p.Level == "app" || p.Level == "keyset" {
		scope += "/1" // rows below the account name their object
	}
	if _, err := keyplane.ParseGrant(scope + ":" + p.Resource + ":" + p.Access); err != nil {
		return err
	}
	return nil
}

// queryParams lists the names of the query parameters of op and its path.
func queryParams(item *openapi3.PathItem, op *openapi3.Operation) []string {
	var names []string
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				names = append(names, p.Value.Name)
			}
		}
	}
	return names
}

// hasVersionHeader reports whether op (or its path) takes a required
// PubNub-Version header.
func hasVersionHeader(item *openapi3.PathItem, op *openapi3.Operation) bool {
	for _, params := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader &&
				http.CanonicalHeaderKey(p.Value.Name) == "Pubnub-Version" && p.Value.Required {
				return true
			}
		}
	}
	return false
}

// Operations lists the operations of the versioned API (every operation
// under /v2, ordered by path template then method), each with the permission
// rows it needs. The unversioned service routes (/healthz, /readyz,
// /openapi.yaml) need no key and are not listed. The slice is a copy.
func (v *Validator) Operations() []Operation {
	out := make([]Operation, len(v.ops))
	for i, op := range v.ops {
		op.Permissions = slices.Clone(op.Permissions)
		op.Query = slices.Clone(op.Query)
		out[i] = op
	}
	return out
}

// Check validates one received response against the operation matching
// method and the concrete path (e.g. "/v2/keysets/12/secret-keys/sec-c-AbC12";
// a query string is ignored): the status must be declared for that operation,
// the Content-Type must be one the status declares, a JSON body must match
// the status's schema, and the headers it declares as required must be
// present and valid.
//
// A path that matches no route of the contract may only be answered 404, and
// a known path with a method it does not offer only 405, each with the Error
// body naming that status. HEAD is checked as GET without the body.
func (v *Validator) Check(method, path string, status int, header http.Header, body []byte) error {
	method = strings.ToUpper(method)
	path, _, _ = strings.Cut(path, "?")
	if header == nil {
		header = http.Header{}
	}
	fail := func(err error) error {
		return fmt.Errorf("contract: %s %s → %d: %w", method, path, status, err)
	}

	lookup := method
	if method == http.MethodHead {
		lookup = http.MethodGet
	}
	r, ok := v.match(path)
	if !ok {
		if err := v.checkError(http.StatusNotFound, "NotFound", status, header, body); err != nil {
			return fail(fmt.Errorf("no route has this path, so only 404 NotFound is allowed: %w", err))
		}
		return nil
	}
	op := r.item.GetOperation(lookup)
	if op == nil {
		if err := v.checkError(http.StatusMethodNotAllowed, "MethodNotAllowed", status, header, body); err != nil {
			return fail(fmt.Errorf("%s offers no %s, so only 405 MethodNotAllowed is allowed: %w", r.template, method, err))
		}
		return nil
	}

	req, err := http.NewRequest(lookup, (&url.URL{Path: path}).String(), nil)
	if err != nil {
		return fail(err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route: &routers.Route{
				Spec: v.doc, Path: r.template, PathItem: r.item, Method: lookup, Operation: op,
			},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			ExcludeResponseBody:   method == http.MethodHead,
		},
	}
	input.Options.WithCustomSchemaErrorFunc(schemaErrorMessage)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fail(fmt.Errorf("%s: %w", op.OperationID, err))
	}
	return nil
}

// checkError checks an answer outside every operation: it must have the
// wanted status and the Error body naming it.
func (v *Validator) checkError(wantStatus int, wantName string, status int, header http.Header, body []byte) error {
	if status != wantStatus {
		return fmt.Errorf("got status %d", status)
	}
	if mt, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", header.Get("Content-Type"))
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	schema := v.doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(value, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage)); err != nil {
		return fmt.Errorf("body does not match Error: %w", err)
	}
	obj := value.(map[string]any) // the schema made sure
	if obj["statusCode"] != float64(wantStatus) || obj["error"] != wantName {
		return fmt.Errorf("body names %v %v, want %d %s", obj["statusCode"], obj["error"], wantStatus, wantName)
	}
	return nil
}

// match finds the route of a concrete path. A literal segment matches only
// itself and a parameter matches any non-empty segment; where two templates
// match, the one with a literal earlier wins (as in net/http's ServeMux).
func (v *Validator) match(path string) (route, bool) {
	segs := split(path)
	var best route
	found := false
	for _, r := range v.routes {
		if len(r.segments) != len(segs) {
			continue
		}
		ok := true
		for i, s := range r.segments {
			if isParam(s) {
				ok = segs[i] != ""
			} else {
				ok = s == segs[i]
			}
			if !ok {
				break
			}
		}
		if ok && (!found || moreSpecific(r, best)) {
			best, found = r, true
		}
	}
	return best, found
}

// moreSpecific reports whether a has a literal segment where b first has a
// parameter.
func moreSpecific(a, b route) bool {
	for i := range a.segments {
		pa, pb := isParam(a.segments[i]), isParam(b.segments[i])
		if pa != pb {
			return pb
		}
	}
	return false
}

func split(path string) []string {
	return strings.Split(strings.TrimPrefix(path, "/"), "/")
}

func isParam(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}

// schemaErrorMessage keeps schema errors to where and what, without the
// schema and value dumps kin-openapi adds by default (a Config schema dump
// runs to hundreds of lines).
func schemaErrorMessage(err *openapi3.SchemaError) string {
	if err.Origin != nil {
		return "" // the default message is the origin's, already short
	}
	msg := err.Reason
	// Errors of the JSON Schema 2020-12 validator name the place already.
	if p := err.JSONPointer(); len(p) > 0 && !strings.HasPrefix(msg, "error at ") {
		msg = "/" + strings.Join(p, "/") + ": " + msg
	}
	return msg
}
