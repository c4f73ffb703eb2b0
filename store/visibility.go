package store

import (
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

// visibilityFilter renders v as a SQL condition on a table with app_id
// (when hasApp) and id columns, appending its arguments to args.
func visibilityFilter(v keyplane.Visibility, appCol, idCol string, args []any) (string, []any) {
	where := ""
	if v.InApp != 0 {
		args = append(args, v.InApp)
		where = " AND " + appCol + " = $" + strconv.Itoa(len(args))
	}
	if v.All {
		return where, args
	}
	var terms []string
	in := func(col string, ids []int64) {
		if len(ids) == 0 || col == "" {
			return
		}
		marks := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		terms = append(terms, col+" IN ("+strings.Join(marks, ", ")+")")
	}
	in(appCol, v.AppIDs)
	in(idCol, v.KeysetIDs)
	if len(terms) == 0 {
		return where + " AND 0 = 1", args
	}
	return where + " AND (" + strings.Join(terms, " OR ") + ")", args
}
