package portal

// RoutePatterns are the patterns of the portal's routes table, for the
// tests of package portal_test that walk every page.
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Portal{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
