package httpapi

import (
	"net/http"

	"github.com/keyplane/keyplane"
)

// The operator API: tenant provisioning for whoever runs the install, under
// /operator/v1, authenticated by operator keys (kpop_…) and by nothing
// else. It is not PubNub's: no PubNub-Version, no permission rows (the
// operator may do everything an operator command does), and its answers
// and errors otherwise follow /v2's conventions ({statusCode, error,
// message[]}, strict JSON, 1 MiB bodies, unknown query parameters refused).
var (
	opListAccounts   = keyplane.Operation{ID: "operatorListAccounts", Method: "GET", Path: "/operator/v1/accounts"}
	opCreateAccount  = keyplane.Operation{ID: "operatorCreateAccount", Method: "POST", Path: "/operator/v1/accounts"}
	opGetAccount     = keyplane.Operation{ID: "operatorGetAccount", Method: "GET", Path: "/operator/v1/accounts/{accountId}"}
	opRenameAccount  = keyplane.Operation{ID: "operatorRenameAccount", Method: "PATCH", Path: "/operator/v1/accounts/{accountId}"}
	opDisableAccount = keyplane.Operation{ID: "operatorDisableAccount", Method: "POST", Path: "/operator/v1/accounts/{accountId}/disable"}
	opEnableAccount  = keyplane.Operation{ID: "operatorEnableAccount", Method: "POST", Path: "/operator/v1/accounts/{accountId}/enable"}
	opCreateOwner    = keyplane.Operation{ID: "operatorCreateOwner", Method: "POST", Path: "/operator/v1/accounts/{accountId}/owner"}
)

// OperatorPrefix is the path under which the operator API is served.
const OperatorPrefix = "/operator/"

// operatorHandler is an operator API handler: it runs after the operator
// key is authenticated, as actor.
type operatorHandler func(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error

// operatorRoutes adds the operator API to mux through route.
func (a *API) operatorRoutes(route func(op keyplane.Operation, h http.Handler)) {
	route(opListAccounts, a.operator(opListAccounts, a.opListAccounts))
	route(opCreateAccount, a.operator(opCreateAccount, a.opCreateAccount))
	route(opGetAccount, a.operator(opGetAccount, a.opGetAccount))
	route(opRenameAccount, a.operator(opRenameAccount, a.opRenameAccount))
	route(opDisableAccount, a.operator(opDisableAccount, a.opSetDisabled(true)))
	route(opEnableAccount, a.operator(opEnableAccount, a.opSetDisabled(false)))
	route(opCreateOwner, a.operator(opCreateOwner, a.opCreateOwner))
}

// operator wraps an operator API handler: authentication by operator key
// (an si_ key is refused, naming the mix-up), then the query parameters op
// reads (none), then the handler, whose error is rendered here. The key is
// read through control's versioned cache, so a revocation is seen by the
// next request.
func (a *API) operator(op keyplane.Operation, h operatorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(r.Header.Values("Authorization")); n > 1 {
			a.fail(w, r, keyplane.Errorf(keyplane.CodeInvalid, "Authorization: give it once, not %d times", n))
			return
		}
		r = r.WithContext(a.svc.ForRequest(r.Context()))
		p, err := a.svc.AuthenticateOperator(r.Context(), credential(r.Header.Get("Authorization")))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if l, ok := w.(*statusWriter); ok {
			l.operatorKeyID = p.Via.KeyID
		}
		if err := op.CheckQuery(r.URL.Query()); err != nil {
			a.fail(w, r, err)
			return
		}
		// A POST may carry an Idempotency-Key, as on /v2: automation
		// that provisions tenants retries without making two.
		if err := a.idempotent(w, r, p, handler(h)); err != nil {
			a.fail(w, r, err)
		}
	})
}

// operatorAccountJSON is an account as the operator API shows it.
type operatorAccountJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"createdAt"`
	Disabled   bool    `json:"disabled"`
	DisabledAt *string `json:"disabledAt"`
	Partner    bool    `json:"partner"`
}

func operatorAccount(acc keyplane.Account) operatorAccountJSON {
	out := operatorAccountJSON{ID: idString(acc.ID), Name: acc.Name, CreatedAt: keyplane.FormatTime(acc.CreatedAt),
		Disabled: acc.Disabled(), Partner: acc.Partner}
	if acc.DisabledAt != nil {
		at := keyplane.FormatTime(*acc.DisabledAt)
		out.DisabledAt = &at
	}
	return out
}

func (a *API) opListAccounts(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	as, err := a.svc.ListAccounts(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]operatorAccountJSON, len(as))
	for i, acc := range as {
		out[i] = operatorAccount(acc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out, "total": len(out)})
	return nil
}

// accountName decodes the body of creating and renaming an account:
// {"name": …}, the name required.
func accountName(w http.ResponseWriter, r *http.Request) (string, error) {
	var b struct {
		Name *string `json:"name"`
	}
	if err := decode(w, r, &b); err != nil {
		return "", err
	}
	if b.Name == nil {
		return "", keyplane.Invalid("name: required")
	}
	return *b.Name, nil
}

// answerAccount writes acc with status, the answer of every route that
// acts on one account, or returns err.
func answerAccount(w http.ResponseWriter, status int, acc keyplane.Account, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, operatorAccount(acc))
	return nil
}

func (a *API) opCreateAccount(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	name, err := accountName(w, r)
	if err != nil {
		return err
	}
	acc, err := a.svc.CreateAccount(r.Context(), p, name)
	return answerAccount(w, http.StatusCreated, acc, err)
}

func (a *API) opGetAccount(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "accountId")
	if err != nil {
		return err
	}
	acc, err := a.svc.GetAccount(r.Context(), p, id)
	return answerAccount(w, http.StatusOK, acc, err)
}

func (a *API) opRenameAccount(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "accountId")
	if err != nil {
		return err
	}
	name, err := accountName(w, r)
	if err != nil {
		return err
	}
	acc, _, err := a.svc.RenameAccount(r.Context(), p, id, name)
	return answerAccount(w, http.StatusOK, acc, err)
}

// opSetDisabled disables (true) or enables an account. It takes no body:
// one sent is refused, as it could only be a mistake.
func (a *API) opSetDisabled(disable bool) operatorHandler {
	return func(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
		id, err := pathID(r, "accountId")
		if err != nil {
			return err
		}
		data, err := body(w, r)
		if err != nil {
			return err
		}
		if len(data) > 0 {
			return keyplane.Invalid("body: this route takes none")
		}
		acc, _, err := a.svc.SetAccountDisabled(r.Context(), p, id, disable)
		return answerAccount(w, http.StatusOK, acc, err)
	}
}

func (a *API) opCreateOwner(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "accountId")
	if err != nil {
		return err
	}
	var b struct {
		Email *string `json:"email"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.Email == nil {
		return keyplane.Invalid("email: required")
	}
	u, password, err := a.svc.CreateFirstOwner(r.Context(), p, id, *b.Email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"accountId": idString(id),
		"user":      map[string]any{"id": idString(u.ID), "email": u.Email, "role": string(u.Role)},
		"password":  password,
	})
	return nil
}
