package keyplane

import "strings"

// resourceDef is a row of the table of resources: its name, its label, the
// access each level offers (PubNub's "Available permissions" table, then
// Keyplane's own rows), and who may hold it. Every list of resources (the
// grant syntax and its messages, labels, the rows a form offers, the rows
// a role stands for, /v2/me) derives from this one table.
type resourceDef struct {
	resource Resource
	label    string
	offered  map[Level][]Access // a level it is not offered at is absent
	// forIntegrations: a Service Integration's key may hold it.
	forIntegrations bool
	// forRoles: a person's role stands for it (at Account level).
	forRoles bool
}

var (
	readOnly, readWrite = []Access{AccessRead}, []Access{AccessRead, AccessReadWrite}
)

// resourceTable lists the resources in the order of PubNub's page, then
// Keyplane's own.
var resourceTable = []resourceDef{
	{ResourceApp, "App", map[Level][]Access{LevelAccount: readWrite, LevelApp: readWrite}, true, true},
	{ResourceKeyset, "Keyset", map[Level][]Access{LevelAccount: readWrite, LevelApp: readWrite, LevelKeyset: readWrite}, true, true},
	{ResourceSecretKey, "Secret key", map[Level][]Access{LevelAccount: readWrite, LevelApp: readWrite, LevelKeyset: readWrite}, true, true},
	{ResourceUsage, "Usage & Monitoring", map[Level][]Access{LevelAccount: readOnly, LevelApp: readOnly, LevelKeyset: readOnly}, true, true},
	{ResourceOEMCustomer, "OEM Customer", map[Level][]Access{LevelAccount: readWrite}, true, true},
	{ResourceAuditLog, "Audit log", map[Level][]Access{LevelAccount: readOnly}, true, true},
	// Usage reporting is for the data plane, not for people.
	{ResourceUsageReport, "Usage reporting", map[Level][]Access{LevelAccount: {AccessWrite}}, true, false},
	// Managing identities is for people, in the Admin Portal.
	{ResourceIntegration, "Service Integrations", map[Level][]Access{LevelAccount: readWrite}, false, true},
	{ResourceUser, "Users", map[Level][]Access{LevelAccount: readWrite}, false, true},
	// Webhook endpoints send the account's events out: for people and for
	// keys (a deployment's own automation registers its receivers).
	{ResourceWebhook, "Webhooks", map[Level][]Access{LevelAccount: readWrite}, true, true},
}

// Derived from resourceTable.
var (
	// offered is the table's access by level and resource.
	offered = map[Level]map[Resource][]Access{}
	// resourceLabels names each resource as people read it.
	resourceLabels = map[Resource]string{}
	// resourceNames is the list a refused grant's message gives.
	resourceNames string
)

func init() {
	var names []string
	for _, d := range resourceTable {
		for l, as := range d.offered {
			if offered[l] == nil {
				offered[l] = map[Resource][]Access{}
			}
			offered[l][d.resource] = as
		}
		resourceLabels[d.resource] = d.label
		names = append(names, string(d.resource))
	}
	resourceNames = strings.Join(names, ", ")
}

// allAccesses is every access d offers, at any level.
func allAccesses(d resourceDef) []Access {
	var out []Access
	for _, as := range d.offered {
		out = append(out, as...)
	}
	return out
}

// forIntegrations tells whether a Service Integration's key may hold rows
// of r.
func forIntegrations(r Resource) bool {
	for _, d := range resourceTable {
		if d.resource == r {
			return d.forIntegrations
		}
	}
	return false
}
