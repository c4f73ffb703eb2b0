// Package api holds Keyplane's HTTP contract: the OpenAPI 3.1 document that
// describes every route, which the server serves at GET /openapi.yaml and the
// end-to-end tests check each answer against (see package api/contract).
package api

import _ "embed"

// Spec is the OpenAPI 3.1 document of the API (api/openapi.yaml), as YAML.
// It is the source of truth for paths, bodies, status codes, error shapes and
// the permission rows each /v2 operation needs (x-required-permission).
// Callers must not modify it.
//
//go:embed openapi.yaml
var Spec []byte
