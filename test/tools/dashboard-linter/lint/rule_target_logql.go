package lint

// MegaNet's copy: upstream parses LogQL with github.com/grafana/loki/v3, which is AGPL-licensed,
// so its two LogQL rules are not vendored (VENDORED.md). A Loki target is reported instead of
// passing unchecked.

func NewTargetLogQLRule() *TargetRuleFunc {
	return &TargetRuleFunc{
		name:        "target-logql-rule",
		description: "Reports Loki targets: this build cannot check LogQL.",
		fn: func(d Dashboard, p Panel, t Target) TargetRuleResults {
			r := TargetRuleResults{}
			if t.Hide || !panelHasQueries(p) {
				return r
			}
			isLoki := false
			if templateDS := getTemplateDatasource(d); templateDS != nil && templateDS.Query == Loki {
				isLoki = true
			} else if ds, err := t.GetDataSource(); err == nil && ds.Type == Loki {
				isLoki = true
			}
			if isLoki {
				r.AddError(d, p, t, "Loki target: this linter build has no LogQL parser (Loki is AGPL-licensed); check the query with upstream dashboard-linter")
			}
			return r
		},
	}
}
