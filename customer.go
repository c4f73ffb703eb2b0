package keyplane

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Customer is an OEM partner's end customer: a PubNub-style id, the
// partner's own immutable externalId, a display name, and the keysets
// assigned to it (a keyset belongs to at most one customer).
type Customer struct {
	ID         int64
	AccountID  int64
	ExternalID string
	Name       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Keysets    []CustomerKeyset
}

// CustomerKeyset is one keyset assigned to a customer.
type CustomerKeyset struct {
	KeysetID   int64
	AppID      int64
	AssignedAt time.Time
}

// CustomerSummary is a customer in a list, with counts instead of keysets.
type CustomerSummary struct {
	Customer
	AppCount, KeysetCount int
}

// MaxAssignKeysets bounds the keysets one request may assign.
const MaxAssignKeysets = 1000

// The OEM routes (reference section 10, O1–O8). Every one needs the OEM
// Customer row at account level, the only level PubNub offers it at, and an
// account an operator has made a partner.
var (
	OpCreateCustomer        = Operation{"createOemCustomer", "POST", "/v2/oem/customers", LevelAccount, []Permission{write(ResourceOEMCustomer)}, nil}
	OpListCustomers         = Operation{"listOemCustomers", "GET", "/v2/oem/customers", LevelAccount, []Permission{read(ResourceOEMCustomer)}, []string{"appId"}}
	OpGetCustomer           = Operation{"getOemCustomer", "GET", "/v2/oem/customers/{customerId}", LevelAccount, []Permission{read(ResourceOEMCustomer)}, nil}
	OpUpdateCustomer        = Operation{"updateOemCustomer", "PUT", "/v2/oem/customers/{customerId}", LevelAccount, []Permission{write(ResourceOEMCustomer)}, nil}
	OpAssignCustomerKeysets = Operation{"assignOemCustomerKeysets", "POST", "/v2/oem/customers/{customerId}/keysets", LevelAccount, []Permission{write(ResourceOEMCustomer)}, nil}
	OpListCustomerApps      = Operation{"listOemCustomerApplications", "GET", "/v2/oem/customers/{customerId}/applications", LevelAccount, []Permission{read(ResourceOEMCustomer)}, nil}
	OpListCustomerKeysets   = Operation{"listOemKeysets", "GET", "/v2/oem/keysets", LevelAccount, []Permission{read(ResourceOEMCustomer)}, []string{"customerId", "appId"}}
	OpGetKeysetCustomer     = Operation{"getOemKeysetCustomer", "GET", "/v2/oem/keysets/{keysetId}/customer", LevelAccount, []Permission{read(ResourceOEMCustomer)}, nil}
)

// IsOEM reports whether o is one of the OEM routes, which only partner
// accounts may call.
func (o Operation) IsOEM() bool {
	return strings.HasPrefix(o.Path, "/v2/oem/")
}

// OEM audit event types, PubNub's names.
const (
	EventOemCustomerCreated         = "OemCustomerCreated"
	EventOemCustomerUpdated         = "OemCustomerUpdated"
	EventOemCustomerKeysetsAssigned = "OemCustomerKeysetsAssigned"
	// EventAccountPartnerChanged records an operator enrolling an account
	// in the partner programme or ending it (Keyplane's name).
	EventAccountPartnerChanged = "AccountPartnerChanged"
)

var externalIDRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidateExternalID checks a customer's externalId: 1 to 255 characters
// of letters, digits, "_" and "-".
func ValidateExternalID(field, s string) string {
	switch {
	case s == "":
		return field + ": required"
	case utf8.RuneCountInString(s) > 255:
		return field + ": at most 255 characters"
	case !externalIDRE.MatchString(s):
		return field + ": only letters, digits, _ and - (^[a-zA-Z0-9_-]+$)"
	}
	return ""
}

// NotPartnerMessage is the refusal of an OEM route in an account that is not a
// partner.
func NotPartnerMessage() string {
	return "account is not an OEM partner: the /v2/oem routes are for partner accounts only; an operator enables them with `keyplane admin set-partner ACCOUNT`"
}
