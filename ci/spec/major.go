package spec

import (
	"fmt"
	"os"

	"github.com/acme-data/prefect-flows/ci/yamlpos"
	"gopkg.in/yaml.v3"
)

// Major is the Prefect major version a file deploys to.
type Major int

const (
	// Prefect2 deploys with infrastructure blocks (ib-block, infra_overrides); the
	// default when the file neither names a major nor uses a key of one.
	Prefect2 Major = 2
	// Prefect3 deploys into work pools (work_pool.name, work_pool.job_variables).
	Prefect3 Major = 3
)

func (m Major) String() string { return fmt.Sprintf("Prefect %d", int(m)) }

// onlyMajor names the keys that exist for one major only, per place in the file ("top";
// "deployment", which covers defaults too; "work_pool"), with what the other major uses
// instead.
var onlyMajor = map[string]map[string]struct {
	major Major
	// instead is the reason and the replacement, said when the key is refused on the
	// other major.
	instead string
}{
	"top": {
		"ib-block": {Prefect2, "Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
	},
	"deployment": {
		"ib-block":                 {Prefect2, "Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
		"infra_overrides":          {Prefect2, "Prefect 3 has no infrastructure blocks to override: put these values in work_pool.job_variables (typed values, not key=value text)"},
		"is_schedule_active":       {Prefect2, "Prefect 3 has no is_schedule_active: use paused (the whole deployment) or active on an item of schedules"},
		"schedules":                {Prefect3, "Prefect 2 takes one schedule per deployment: use schedule (a single mapping)"},
		"paused":                   {Prefect3, "Prefect 2 has no paused: use is_schedule_active (false keeps the schedule paused)"},
		"concurrency_limit":        {Prefect3, "Prefect 2 deployments have no concurrency limit: use a work queue or tag concurrency limit"},
		"enforce_parameter_schema": {Prefect3, "Prefect 2's deployment build cannot set enforce_parameter_schema: leave it out"},
	},
	"work_pool": {
		"job_variables": {Prefect3, "Prefect 2 deploys through infrastructure blocks: use infra_overrides (values passed as text)"},
	},
}

// keysFor keeps the keys of list that exist on major (the keys an unknown-key message
// proposes).
func keysFor(list []string, place string, major Major) []string {
	var out []string
	for _, k := range list {
		if o, ok := onlyMajor[place][k]; ok && o.major != major {
			continue
		}
		out = append(out, k)
	}
	return out
}

// wrongMajor reports key when it belongs to the other major than the file's and says
// what replaces it; true means the key was refused.
func (c *collector) wrongMajor(k *yaml.Node, path, place, key string) bool {
	o, ok := onlyMajor[place][key]
	if !ok || o.major == c.major {
		return false
	}
	c.Add(k, path, "%s is a %s key, but this file targets %s (%s): %s", key, o.major, c.major, c.majorFrom, o.instead)
	return true
}

// majorUse is the first key of one major found in a file.
type majorUse struct {
	key  string
	node *yaml.Node
}

// decideMajor sets c.major from the top-level `prefect:` key, else from the first key
// (in file order) that only one major has, else Prefect 2. It reads the file with a
// silent collector: the main pass reports every problem of the keys it looks at.
func (c *collector) decideMajor(top *yaml.Node) {
	c.major, c.majorFrom = Prefect2, "the default: no key of Prefect 3 is used"
	quiet := newCollector(c.File())
	var first *majorUse
	var firstMajor Major
	seen := func(place, key string, n *yaml.Node) {
		if o, ok := onlyMajor[place][key]; ok && first == nil {
			first, firstMajor = &majorUse{key, n}, o.major
		}
	}
	scanFields := func(n *yaml.Node, p string) {
		for _, e := range quiet.Mapping(n, p) {
			key := yamlpos.Resolve(e.Key).Value
			seen("deployment", key, e.Key)
			if key == "work_pool" {
				for _, w := range quiet.Mapping(e.Val, p) {
					if wk := yamlpos.Resolve(w.Key).Value; wk == "job_variables" {
						seen("work_pool", wk, w.Key)
					}
				}
			}
		}
	}
	var declared *yaml.Node
	for _, e := range quiet.Mapping(top, "") {
		switch yamlpos.Resolve(e.Key).Value {
		case "prefect":
			declared = e.Val
		case "ib-block":
			seen("top", "ib-block", e.Key)
		case "defaults":
			scanFields(e.Val, "defaults")
		case "deployments":
			if d := yamlpos.Resolve(e.Val); d != nil && d.Kind == yaml.SequenceNode {
				for _, item := range d.Content {
					scanFields(item, "deployments")
				}
			}
		}
	}
	if declared != nil {
		r := yamlpos.Resolve(declared)
		if r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" && (r.Value == "2" || r.Value == "3") {
			c.major = Major(r.Value[0] - '0')
			c.majorFrom = fmt.Sprintf("prefect: %s at line %d", r.Value, declared.Line)
			return
		}
		got := yamlpos.KindName(r)
		switch {
		case r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" && (r.Value == "2" || r.Value == "3"):
			got = fmt.Sprintf("the string %q (write it without quotes: prefect: %s)", r.Value, r.Value)
		case r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() != "!!null":
			got = quote(r.Value)
		}
		c.Add(declared, "prefect", "expected 2 or 3, the Prefect major this file deploys to, got %s", got)
		// The keys still say which major's rules apply, but a key the major requires
		// (ib-block, work_pool.name) is not asked for on top of this error.
		c.majorUnsure = true
	}
	if first != nil {
		c.major = firstMajor
		c.majorFrom = fmt.Sprintf("inferred from %s at line %d", first.key, first.node.Line)
	}
}

// ReadMajor is the major of the deployments file at path and how it was decided, by the
// rules Load uses, without validating the rest: for a check that must not wait for the
// whole load (config.Check). An unreadable file, bad YAML or a bad `prefect:` value is an
// error; Load reports the details.
func ReadMajor(path string) (Major, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	doc, _, err := yamlpos.Decode(data)
	if err != nil {
		return 0, "", fmt.Errorf("%s: not YAML: %w", path, err)
	}
	top := doc
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	c := newCollector(path)
	c.decideMajor(top)
	if errs := c.Errors(); len(errs) > 0 {
		return 0, "", fmt.Errorf("%s: %s", path, errs[0].Msg)
	}
	return c.major, c.majorFrom, nil
}
