package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/pyflow"
	"gopkg.in/yaml.v3"

	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/yamlpos"
)

// LoadOptions says where the entrypoints of a file are checked.
type LoadOptions struct {
	// RepoRoot is the directory entrypoint paths are relative to; empty means the
	// directory that holds the file.
	RepoRoot string
}

// Load reads, defaults and validates a deployments file. When the file has problems
// the error is a *ValidationError listing every one of them.
func Load(path string, opt LoadOptions) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	root := opt.RepoRoot
	if root == "" {
		root = filepath.Dir(path)
	}
	return parse(path, data, root)
}

// LoadAll loads every file and returns the files in order. All files are checked even
// when one fails; the error joins every file's error.
func LoadAll(paths []string, opt LoadOptions) ([]*File, error) {
	var files []*File
	var errs []error
	for _, p := range paths {
		f, err := Load(p, opt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return files, nil
}

// maxNodes bounds alias expansion; real files use a few hundred nodes.
const maxNodes = 100000

// collector reads one deployments file: yamlpos's positioned reading and error list,
// and the Prefect major whose rules apply to the keys.
type collector struct {
	*yamlpos.Collector
	// major is the Prefect major the file targets and majorFrom how it was decided
	// ("prefect: 3 at line 1", "inferred from ib-block at line 1", ...).
	major     Major
	majorFrom string
	// majorUnsure means the `prefect:` key is wrong (and reported).
	majorUnsure bool
}

func newCollector(file string) *collector {
	return &collector{Collector: yamlpos.NewCollector(file, maxNodes)}
}

func parse(file string, data []byte, repoRoot string) (*File, error) {
	c := newCollector(file)
	fail := func() (*File, error) {
		return nil, &ValidationError{File: file, Errors: c.Errors(), Notes: c.Notes()}
	}
	doc, extra, err := yamlpos.Decode(data)
	if errors.Is(err, io.EOF) {
		c.Append(FieldError{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "empty file: expected a mapping with ib-block and deployments"})
		return fail()
	}
	if err != nil {
		c.Append(yamlpos.SyntaxError(file, data, err, cronHint))
		if doc == nil {
			return fail()
		}
	}
	if extra != nil {
		c.Add(extra, "", "a second YAML document: a deployments file holds exactly one")
	}
	top := doc
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	f := c.parseFile(top, repoRoot)
	if len(c.Errors()) > 0 {
		return fail()
	}
	f.Path = file
	f.Notes = c.Notes()
	return f, nil
}

// fields is one deployment (or the defaults) as written, before defaults are merged.
// The *Set flags tell "absent" apart from "written", because a value written in the
// deployment wins over the default even when it is empty (schedule: null, tags: []).
type fields struct {
	name, entrypoint    string
	nameNode, entryNode *yaml.Node
	// entrypointBad means the entrypoint's problem is already reported.
	entrypointBad  bool
	description    string
	descriptionSet bool
	params         map[string]any
	// paramsKey is the `parameters` key; paramKeys and paramVals hold each top-level
	// parameter's key and value nodes, for errors that point at one parameter.
	paramsKey            *yaml.Node
	paramKeys, paramVals map[string]*yaml.Node
	// paramsBad means a parameter value is already reported; the flow signature
	// checks are then skipped rather than stacked on top.
	paramsBad           bool
	schedule            *schedule.Schedule
	scheduleSet         bool
	scheduleActive      *bool
	scheduleActiveSet   bool
	tags                []string
	tagsSet             bool
	version             string
	versionSet          bool
	poolName, poolQueue *string
	ibBlock             string
	ibBlockSet          bool
	overrides           map[string]string
	overrideNodes       map[string]*yaml.Node
	// poolNameBad means work_pool.name is written but refused (and reported).
	poolNameBad bool
	// poolNamePos is where work_pool.name's value is.
	poolNamePos Pos
	// Prefect 3 keys.
	scheduleKey, schedulesKey *yaml.Node
	schedulePos               Pos
	schedules                 []ScheduleItem
	schedulesSet              bool
	paused, enforce           *bool
	pausedSet, enforceSet     bool
	concurrency               *int64
	concurrencySet            bool
	jobVars                   map[string]JobVariable
}

func (c *collector) parseFile(top *yaml.Node, repoRoot string) *File {
	f := &File{}
	if yamlpos.IsNull(top) {
		c.Add(top, "", "empty file: expected a mapping with ib-block and deployments")
		return f
	}
	if yamlpos.Resolve(top).Kind != yaml.MappingNode {
		c.Add(top, "", "expected a mapping with ib-block and deployments, got %s", yamlpos.KindName(top))
		return f
	}
	c.decideMajor(top)
	f.Prefect, f.PrefectFrom = c.major, c.majorFrom
	var deploymentsNode *yaml.Node
	var defaults *fields
	// topBlockWritten is true when the top-level ib-block was given, valid or not: an
	// invalid one is reported once, not again for every deployment that relies on it.
	topBlockWritten := false
	for _, e := range c.Mapping(top, "") {
		key, ok := c.key(e.Key, "")
		if !ok {
			continue
		}
		if c.wrongMajor(e.Key, key, "top", key) {
			continue
		}
		switch key {
		case "prefect":
			// Read by decideMajor.
		case "ib-block":
			if yamlpos.IsNull(e.Val) {
				continue
			}
			topBlockWritten = true
			if s, ok := c.Str(e.Val, key); ok && c.checkBlock(e.Val, key, s) {
				f.IBBlock = s
			}
		case "deployments":
			deploymentsNode = e.Val
		case "defaults":
			if yamlpos.IsNull(e.Val) {
				continue
			}
			defaults = c.fields(e.Val, "defaults", defaultsKeys)
		default:
			c.Add(e.Key, key, "%s", unknownKeyMsg(key, keysFor(topKeys, "top", c.major)))
		}
	}
	if deploymentsNode == nil {
		c.Add(top, "deployments", "missing required key: expected a list of deployments")
		return f
	}
	dn := yamlpos.Resolve(deploymentsNode)
	if yamlpos.IsNull(dn) {
		return f
	}
	if dn.Kind != yaml.SequenceNode {
		c.Add(deploymentsNode, "deployments", "expected a list of deployments, got %s", yamlpos.KindName(dn))
		return f
	}
	files := pyflow.NewRepo(repoRoot)
	firstName := map[string]*yaml.Node{}
	for i, item := range dn.Content {
		p := yamlpos.Index("deployments", i)
		if yamlpos.Resolve(item).Kind != yaml.MappingNode {
			c.Add(item, p, "expected a deployment mapping (name, entrypoint, ...), got %s", yamlpos.KindName(item))
			continue
		}
		fd := c.fields(item, p, deployKeys)
		if fd.nameNode == nil {
			c.Add(item, yamlpos.Join(p, "name"), "missing required key name")
		} else if fd.name != "" {
			if first, dup := firstName[fd.name]; dup {
				c.Add(fd.nameNode, yamlpos.Join(p, "name"), "duplicate deployment name %q (first at line %d)", fd.name, first.Line)
			} else {
				firstName[fd.name] = fd.nameNode
			}
		}
		d := merge(defaults, fd, c.major)
		d.Pos = c.Pos(item)
		if c.majorUnsure {
			// The wrong prefect: key is reported; which key is missing depends on it.
		} else if c.major == Prefect3 {
			// A pool name written but refused is already reported.
			bad := fd.poolNameBad || (fd.poolName == nil && defaults != nil && defaults.poolNameBad)
			if (d.WorkPool == nil || d.WorkPool.Name == "") && !bad {
				c.Add(item, yamlpos.Join(p, "work_pool.name"), "no work pool: Prefect 3 deploys into a work pool; set work_pool.name here or in defaults")
			}
		} else if !fd.ibBlockSet {
			// A deployment's own ib-block that failed validation is already reported.
			d.IBBlock = f.IBBlock
			if d.IBBlock == "" && !topBlockWritten {
				c.Add(item, yamlpos.Join(p, "ib-block"), "no infrastructure block: set the top-level ib-block or this deployment's ib-block (block-type/block-name)")
			}
		}
		if fd.entryNode == nil {
			c.Add(item, yamlpos.Join(p, "entrypoint"), "missing required key entrypoint (path/file.py:flow_function)")
		} else if fd.entrypoint != "" && !fd.entrypointBad {
			var ref *flowRef
			d.FlowName, ref = c.checkEntrypoint(fd.entryNode, yamlpos.Join(p, "entrypoint"), fd.entrypoint, files)
			if ref != nil {
				c.checkParams(item, p, d, ref, defaults, fd)
			}
		}
		f.Deployments = append(f.Deployments, d)
	}
	return f
}

// key reads a mapping key, which must be a plain string.
func (c *collector) key(k *yaml.Node, path string) (string, bool) {
	rk := yamlpos.Resolve(k)
	if rk.Kind != yaml.ScalarNode || (rk.ShortTag() != "!!str" && rk.ShortTag() != "!!null" && rk.ShortTag() != "!!int" && rk.ShortTag() != "!!bool" && rk.ShortTag() != "!!float") {
		c.Add(k, path, "keys must be strings, got %s", yamlpos.KindName(rk))
		return "", false
	}
	return rk.Value, true
}

var bannedNameChars = "/%&><"

func (c *collector) fields(n *yaml.Node, p string, allowed []string) *fields {
	fd := &fields{}
	if yamlpos.Resolve(n).Kind != yaml.MappingNode {
		c.Add(n, p, "expected a mapping, got %s", yamlpos.KindName(n))
		return fd
	}
	allowed = keysFor(allowed, "deployment", c.major)
	for _, e := range c.Mapping(n, p) {
		key, ok := c.key(e.Key, p)
		if !ok {
			continue
		}
		kp := yamlpos.Join(p, key)
		if c.wrongMajor(e.Key, kp, "deployment", key) {
			continue
		}
		if !contains(allowed, key) {
			if why, ok := notInDefaults[key]; ok && p == "defaults" {
				c.Add(e.Key, kp, "%s cannot be set in defaults: %s", key, why)
			} else {
				c.Add(e.Key, kp, "%s", unknownKeyMsg(key, allowed))
			}
			continue
		}
		v := e.Val
		switch key {
		case "name":
			fd.nameNode = e.Key
			if yamlpos.IsNull(v) {
				c.Add(v, kp, "expected a non-empty deployment name")
				continue
			}
			fd.nameNode = v
			if s, ok := c.Str(v, kp); ok {
				switch {
				case strings.TrimSpace(s) == "":
					c.Add(v, kp, "expected a non-empty deployment name")
				case strings.ContainsAny(s, bannedNameChars):
					c.Add(v, kp, "deployment name %q contains a character Prefect refuses (any of %s)", s, bannedNameChars)
				default:
					fd.name = s
				}
			}
		case "entrypoint":
			fd.entryNode = v
			if yamlpos.IsNull(v) {
				c.Add(v, kp, "expected an entrypoint such as flows/etl.py:daily")
				fd.entrypointBad = true
				continue
			}
			if s, ok := c.Str(v, kp); ok {
				fd.entrypoint = s
			} else {
				fd.entrypointBad = true
			}
		case "description":
			fd.descriptionSet = true
			if yamlpos.IsNull(v) {
				continue
			}
			if s, ok := c.Str(v, kp); ok {
				fd.description = s
			}
		case "parameters":
			if yamlpos.IsNull(v) {
				continue
			}
			if yamlpos.Resolve(v).Kind != yaml.MappingNode {
				c.Add(v, kp, "expected a mapping of parameter names to values, got %s", yamlpos.KindName(v))
				continue
			}
			fd.paramsKey = e.Key
			val, good := c.JSONValue(v, kp)
			fd.paramsBad = !good
			if m, ok := val.(map[string]any); ok {
				fd.params = m
			}
			fd.paramKeys, fd.paramVals = c.entryNodes(v, kp)
		case "schedule":
			fd.scheduleSet, fd.scheduleKey = true, e.Key
			if yamlpos.IsNull(v) {
				continue
			}
			fd.schedulePos = c.Pos(v)
			fd.schedule = c.schedule(v, kp, scheduleKeys)
		case "schedules":
			fd.schedulesSet, fd.schedulesKey = true, e.Key
			if yamlpos.IsNull(v) {
				continue
			}
			fd.schedules = c.scheduleList(v, kp)
		case "paused":
			fd.pausedSet = true
			fd.paused = c.optBool(v, kp, "true pauses the deployment, false resumes it; leave it out to keep what the server has")
		case "enforce_parameter_schema":
			fd.enforceSet = true
			fd.enforce = c.optBool(v, kp, "true makes Prefect check each run's parameters against the flow's schema")
		case "concurrency_limit":
			fd.concurrencySet = true
			fd.concurrency = c.concurrencyLimit(v, kp)
		case "tags":
			fd.tagsSet = true
			if yamlpos.IsNull(v) {
				continue
			}
			fd.tags = c.tags(v, kp)
		case "is_schedule_active":
			fd.scheduleActiveSet = true
			if yamlpos.IsNull(v) {
				continue
			}
			if r := yamlpos.Resolve(v); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" {
				b := strings.EqualFold(r.Value, "true")
				fd.scheduleActive = &b
			} else {
				c.Add(v, kp, "expected true or false (false keeps the schedule paused), got %s", yamlpos.KindName(v))
			}
		case "version":
			fd.versionSet = true
			fd.version = c.version(v, kp)
		case "work_pool":
			c.workPool(v, kp, fd)
		case "ib-block":
			fd.ibBlockSet = true
			if yamlpos.IsNull(v) {
				c.Add(v, kp, "expected block-type/block-name, e.g. ecs-task/dev")
				continue
			}
			if s, ok := c.Str(v, kp); ok && c.checkBlock(v, kp, s) {
				fd.ibBlock = s
			}
		case "infra_overrides":
			if yamlpos.IsNull(v) {
				continue
			}
			if yamlpos.Resolve(v).Kind != yaml.MappingNode {
				c.Add(v, kp, "expected a mapping of override keys to values, got %s", yamlpos.KindName(v))
				continue
			}
			fd.overrides = map[string]string{}
			fd.overrideNodes = map[string]*yaml.Node{}
			c.overrides(v, kp, "", fd, 0)
		}
	}
	if fd.scheduleKey != nil && fd.schedulesKey != nil {
		later, key := fd.schedulesKey, "schedules"
		if later.Line < fd.scheduleKey.Line || (later.Line == fd.scheduleKey.Line && later.Column < fd.scheduleKey.Column) {
			later, key = fd.scheduleKey, "schedule"
		}
		c.Add(later, yamlpos.Join(p, key), "schedule and schedules are both set: write the single schedule as one more item of schedules")
	}
	return fd
}

// optBool reads a boolean that may be null (not said); what explains the key.
func (c *collector) optBool(v *yaml.Node, p, what string) *bool {
	if yamlpos.IsNull(v) {
		return nil
	}
	if r := yamlpos.Resolve(v); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" {
		b := strings.EqualFold(r.Value, "true")
		return &b
	}
	c.Add(v, p, "expected true or false (%s), got %s", what, yamlpos.KindName(v))
	return nil
}

// concurrencyLimit reads a positive whole number of runs, or null for none.
func (c *collector) concurrencyLimit(v *yaml.Node, p string) *int64 {
	if yamlpos.IsNull(v) {
		return nil
	}
	r := yamlpos.Resolve(v)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		if n, ok := c.JSONScalar(v, p); ok {
			if i := n.(int64); i >= 1 {
				return &i
			}
			c.Add(v, p, "concurrency_limit %s: expected a positive whole number of concurrent runs (leave it out for no limit)", r.Value)
		}
		return nil
	}
	if r.Kind == yaml.MappingNode {
		c.Add(v, p, "expected a positive whole number of concurrent runs, got a mapping (prefect.yaml's {limit, collision_strategy} form is not supported: write the limit alone)")
		return nil
	}
	c.Add(v, p, "expected a positive whole number of concurrent runs, got %s", yamlpos.KindName(r))
	return nil
}

// scheduleList reads `schedules:` (Prefect 3): a list of schedule mappings, each with
// an optional `active`.
func (c *collector) scheduleList(v *yaml.Node, p string) []ScheduleItem {
	r := yamlpos.Resolve(v)
	if r.Kind != yaml.SequenceNode {
		c.Add(v, p, "expected a list of schedules, each a mapping with one of cron, interval or rrule, got %s", yamlpos.KindName(r))
		return nil
	}
	out := []ScheduleItem{}
	for i, item := range r.Content {
		if s := c.schedule(item, yamlpos.Index(p, i), scheduleItemKeys); s != nil {
			out = append(out, ScheduleItem{Schedule: *s, Pos: c.Pos(item)})
		}
	}
	return out
}

// version keeps the scalar's text exactly as written, so `version: 1.10` is "1.10"
// and not the 1.1 a YAML number would print as. Quoting is never required.
func (c *collector) version(v *yaml.Node, p string) string {
	r := yamlpos.Resolve(v)
	if yamlpos.IsNull(r) {
		return ""
	}
	if r.Kind != yaml.ScalarNode {
		c.Add(v, p, "expected a version string such as 1.2.3, got %s", yamlpos.KindName(r))
		return ""
	}
	switch r.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return r.Value
	}
	c.Add(v, p, "expected a version string such as 1.2.3, got %s", yamlpos.KindName(r))
	return ""
}

var blockSlug = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$`)

func (c *collector) checkBlock(n *yaml.Node, p, s string) bool {
	if blockSlug.MatchString(s) {
		return true
	}
	c.Add(n, p, "%q is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev", s)
	return false
}

func (c *collector) tags(v *yaml.Node, p string) []string {
	r := yamlpos.Resolve(v)
	if r.Kind != yaml.SequenceNode {
		c.Add(v, p, "expected a list of strings, got %s", yamlpos.KindName(r))
		return nil
	}
	out := []string{}
	for i, item := range r.Content {
		ip := yamlpos.Index(p, i)
		ri := yamlpos.Resolve(item)
		if ri.Kind != yaml.ScalarNode || ri.ShortTag() != "!!str" {
			if ri.Kind == yaml.ScalarNode && ri.ShortTag() != "!!null" {
				c.Add(item, ip, "expected a string tag, got %s (quote it: %q)", yamlpos.KindName(ri), ri.Value)
			} else {
				c.Add(item, ip, "expected a string tag, got %s", yamlpos.KindName(ri))
			}
			continue
		}
		switch {
		case strings.TrimSpace(ri.Value) == "":
			c.Add(item, ip, "empty tag")
		case strings.Contains(ri.Value, ","):
			c.Add(item, ip, "tag %q contains a comma: Prefect keeps it as ONE tag; write each tag as its own list item", ri.Value)
		case strings.HasPrefix(ri.Value, ReservedTagPrefix):
			c.Add(item, ip, "tag %q: tags starting with %s are reserved for the ownership marker that apply adds", ri.Value, ReservedTagPrefix)
		default:
			out = append(out, ri.Value)
		}
	}
	return out
}

func (c *collector) workPool(v *yaml.Node, p string, fd *fields) {
	if yamlpos.IsNull(v) {
		empty := ""
		fd.poolName, fd.poolQueue = &empty, &empty
		return
	}
	if yamlpos.Resolve(v).Kind != yaml.MappingNode {
		if c.major == Prefect3 {
			c.Add(v, p, "expected a mapping with name, work_queue_name and job_variables, got %s", yamlpos.KindName(v))
		} else {
			c.Add(v, p, "expected a mapping with name and work_queue_name, got %s", yamlpos.KindName(v))
		}
		return
	}
	for _, e := range c.Mapping(v, p) {
		key, ok := c.key(e.Key, p)
		if !ok {
			continue
		}
		kp := yamlpos.Join(p, key)
		if c.wrongMajor(e.Key, kp, "work_pool", key) {
			continue
		}
		known := keysFor(workPoolKeys, "work_pool", c.major)
		if !contains(known, key) {
			c.Add(e.Key, kp, "%s", unknownKeyMsg(key, known))
			continue
		}
		if key == "job_variables" {
			c.jobVariables(e.Val, kp, fd)
			continue
		}
		if key == "name" {
			fd.poolNameBad = true // until it is read
		}
		s := ""
		if !yamlpos.IsNull(e.Val) {
			var ok bool
			if s, ok = c.Str(e.Val, kp); !ok {
				continue
			}
		}
		if strings.TrimSpace(s) == "" {
			if key == "name" && c.major == Prefect3 {
				c.Add(e.Val, kp, "expected a non-empty work pool name: Prefect 3 deploys into a work pool")
			} else {
				c.Add(e.Val, kp, "expected a non-empty %s (leave the key out to use Prefect's default)", key)
			}
			continue
		}
		if key == "name" {
			fd.poolName, fd.poolNameBad, fd.poolNamePos = &s, false, c.Pos(e.Val)
		} else {
			fd.poolQueue = &s
		}
	}
}

// jobVariables reads work_pool.job_variables (Prefect 3): a mapping whose values keep
// their YAML types, each with the position of its key.
func (c *collector) jobVariables(v *yaml.Node, p string, fd *fields) {
	if yamlpos.IsNull(v) {
		return
	}
	if yamlpos.Resolve(v).Kind != yaml.MappingNode {
		c.Add(v, p, "expected a mapping of job variable names to values (the work pool's base job template variables, e.g. cpu, env, image), got %s", yamlpos.KindName(v))
		return
	}
	if fd.jobVars == nil {
		fd.jobVars = map[string]JobVariable{}
	}
	for _, e := range c.Mapping(v, p) {
		rk := yamlpos.Resolve(e.Key)
		if rk.Kind != yaml.ScalarNode || rk.ShortTag() != "!!str" {
			c.Add(e.Key, p, "job variable names must be strings, got %s (quote it)", yamlpos.KindName(rk))
			continue
		}
		kp := yamlpos.Join(p, rk.Value)
		if strings.TrimSpace(rk.Value) == "" {
			c.Add(e.Key, kp, "empty job variable name")
			continue
		}
		val, ok := c.JSONValue(e.Val, kp)
		if !ok {
			continue
		}
		fd.jobVars[rk.Value] = JobVariable{Value: val, Pos: c.Pos(e.Key), Node: e.Val}
	}
}

// overrides flattens nested mappings into dotted keys (env: {FOO: x} -> env.FOO=x),
// the form Prefect's --override key=value expects.
func (c *collector) overrides(v *yaml.Node, p, prefix string, fd *fields, depth int) {
	if depth > 20 {
		c.Add(v, p, "nested too deeply")
		return
	}
	for _, e := range c.Mapping(v, p) {
		rk := yamlpos.Resolve(e.Key)
		if rk.Kind != yaml.ScalarNode || rk.ShortTag() != "!!str" {
			c.Add(e.Key, p, "override keys must be strings, got %s (quote it)", yamlpos.KindName(rk))
			continue
		}
		key := rk.Value
		kp := yamlpos.Join(p, key)
		full := key
		if prefix != "" {
			full = prefix + "." + key
		}
		if key == "" || strings.ContainsAny(key, "= \t\n") || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
			c.Add(e.Key, kp, "invalid override key %q: expected a dotted field path such as env.FOO (no '=' or spaces)", key)
			continue
		}
		if yamlpos.Resolve(e.Val).Kind == yaml.MappingNode {
			c.overrides(e.Val, kp, full, fd, depth+1)
			continue
		}
		if first, dup := fd.overrideNodes[full]; dup {
			c.Add(e.Key, kp, "override %s is set twice (first at line %d)", full, first.Line)
			continue
		}
		if yamlpos.Resolve(e.Val).Kind == yaml.SequenceNode {
			c.Add(e.Val, kp, "lists cannot be passed as --override %s=...; use a string", full)
			continue
		}
		s, ok := c.ScalarText(e.Val, kp)
		if !ok {
			continue
		}
		fd.overrides[full] = s
		fd.overrideNodes[full] = e.Key
	}
}

// schedule reads one schedule mapping whose keys may be known; it is inactive only
// when an `active: false` (a key of scheduleItemKeys) says so. The grammars are
// ci/schedule's; their errors get the value's position here.
func (c *collector) schedule(v *yaml.Node, p string, known []string) *schedule.Schedule {
	r := yamlpos.Resolve(v)
	if r.Kind != yaml.MappingNode {
		c.Add(v, p, "expected a mapping with one of cron, interval or rrule, got %s", yamlpos.KindName(r))
		return nil
	}
	s := &schedule.Schedule{}
	var kinds []string
	var kindNodes []*yaml.Node
	var anchorNode *yaml.Node
	ok := true
	for _, e := range c.Mapping(r, p) {
		key, good := c.key(e.Key, p)
		if !good {
			ok = false
			continue
		}
		kp := yamlpos.Join(p, key)
		if !contains(known, key) {
			msg := unknownKeyMsg(key, known)
			if key == "active" {
				msg = "active goes on an item of schedules (Prefect 3); for a single schedule use " + map[Major]string{Prefect2: "is_schedule_active", Prefect3: "paused, or write it as an item of schedules"}[c.major]
			}
			c.Add(e.Key, kp, "%s", msg)
			ok = false
			continue
		}
		switch key {
		case "cron", "interval", "rrule":
			kinds = append(kinds, key)
			kindNodes = append(kindNodes, e.Key)
		}
		switch key {
		case "cron":
			if s.Cron, good = c.CheckedStr(e.Val, kp, schedule.CheckCron); !good {
				ok = false
			}
			s.Kind = schedule.Cron
		case "interval":
			r := yamlpos.Resolve(e.Val)
			if r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!int" && r.ShortTag() != "!!str") {
				c.Add(e.Val, kp, "expected a positive whole number of seconds or a duration such as 90m, got %s", yamlpos.KindName(r))
				ok = false
				continue
			}
			secs, err := schedule.ParseInterval(r.Value)
			if err != nil {
				c.Add(e.Val, kp, "%s", err)
				ok = false
				continue
			}
			s.Kind, s.IntervalSeconds = schedule.Interval, secs
		case "rrule":
			if s.RRule, good = c.CheckedStr(e.Val, kp, schedule.CheckRRule); !good {
				ok = false
			}
			s.Kind = schedule.RRule
		case "timezone":
			if s.Timezone, good = c.CheckedStr(e.Val, kp, schedule.CheckTimezone); !good {
				ok = false
			}
		case "anchor-date":
			anchorNode = e.Key
			r := yamlpos.Resolve(e.Val)
			if r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!str" && r.ShortTag() != "!!timestamp") {
				c.Add(e.Val, kp, "expected an ISO-8601 date or date-time such as 2024-01-31T09:00:00+01:00, got %s", yamlpos.KindName(r))
				ok = false
				continue
			}
			a, err := schedule.ParseAnchor(r.Value)
			if err != nil {
				c.Add(e.Val, kp, "%s", err)
				ok = false
				continue
			}
			s.Anchor = a
		case "active":
			b := c.optBool(e.Val, kp, "false keeps this schedule from creating runs")
			if b == nil {
				if yamlpos.IsNull(e.Val) {
					c.Add(e.Val, kp, "expected true or false (false keeps this schedule from creating runs), got null")
				}
				ok = false
				continue
			}
			s.Inactive = !*b
		}
	}
	switch {
	case len(kinds) == 0:
		c.Add(v, p, "no schedule kind: expected exactly one of cron, interval or rrule (or leave schedule out for none)")
		return nil
	case len(kinds) > 1:
		c.Add(kindNodes[1], p, "more than one schedule kind (%s): Prefect takes exactly one of cron, interval or rrule", strings.Join(kinds, ", "))
		return nil
	}
	if anchorNode != nil && kinds[0] != "interval" {
		c.Add(anchorNode, yamlpos.Join(p, "anchor-date"), "anchor-date only goes with interval, not with %s", kinds[0])
		return nil
	}
	if !ok {
		return nil
	}
	return s
}

// flowRef is the flow function an entrypoint names.
type flowRef struct {
	file, fn string // as in the entrypoint, path cleaned
	f        pyflow.Func
}

// checkEntrypoint checks path/file.py:function against the repository and returns the
// flow's Prefect name and the function, or ("", nil) after reporting a problem. When
// only Prefect's loader can decide (an imported or assigned flow, ...) it adds a note
// and returns the flow name if it could be read ("" if not) and no function.
func (c *collector) checkEntrypoint(n *yaml.Node, p, ep string, files *pyflow.Repo) (string, *flowRef) {
	i := strings.LastIndex(ep, ":")
	if i < 0 {
		c.Add(n, p, "%q is not path/file.py:flow_function (the function name is missing)", ep)
		return "", nil
	}
	file, fn := ep[:i], ep[i+1:]
	switch {
	case !strings.HasSuffix(file, ".py") || len(file) == len(".py"):
		c.Add(n, p, "%q is not path/file.py:flow_function (the file must end in .py)", ep)
		return "", nil
	case !pyflow.IsIdentifier(fn):
		c.Add(n, p, "%q is not path/file.py:flow_function (%q is not a Python function name)", ep, fn)
		return "", nil
	case strings.HasPrefix(file, "/") || filepath.IsAbs(file) || (len(file) > 1 && file[1] == ':') || strings.Contains(file, `\`):
		c.Add(n, p, "%q must be a relative path with '/' separators from the repository root", ep)
		return "", nil
	}
	clean := path.Clean(file)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		c.Add(n, p, "%q points outside the repository", ep)
		return "", nil
	}
	v, exists := files.Judge(clean, fn)
	switch {
	case !exists:
		c.Add(n, p, "flow file %s does not exist in the repository (%s)", file, files.Root())
		return "", nil
	case v.Refuse != "":
		c.Add(n, p, "%s", v.Refuse)
		return "", nil
	case v.Note != "":
		msg := v.Note
		if v.FlowName == "" {
			msg += "; its flow name is not known statically either"
		}
		c.Note(n, p, "%s", msg)
		return v.FlowName, nil
	}
	if strings.ContainsAny(v.Func.FlowName, bannedNameChars) {
		c.Add(n, p, "flow %s in %s is named %q, which Prefect refuses (no %s)", fn, file, v.Func.FlowName, bannedNameChars)
		return "", nil
	}
	return v.FlowName, &flowRef{file: clean, fn: fn, f: v.Func}
}

// merge applies the defaults to one deployment: the deployment's own value wins;
// parameters, infra_overrides and work_pool merge key by key.
func merge(def, own *fields, major Major) Deployment {
	if def == nil {
		def = &fields{}
	}
	d := Deployment{Name: own.name, Entrypoint: own.entrypoint}
	d.Description = pick(own.descriptionSet, own.description, def.description)
	d.Version = pick(own.versionSet, own.version, def.version)
	d.ScheduleActive = def.scheduleActive
	if own.scheduleActiveSet {
		d.ScheduleActive = own.scheduleActive
	}
	if d.ScheduleActive != nil {
		b := *d.ScheduleActive
		d.ScheduleActive = &b
	}
	if own.tagsSet {
		d.Tags = own.tags
	} else {
		d.Tags = def.tags
	}
	d.Tags = append([]string(nil), d.Tags...)
	// A deployment that writes schedule or schedules replaces the default's, whichever
	// of the two the defaults use.
	src := def
	if own.scheduleSet || own.schedulesSet {
		src = own
	}
	switch {
	case major == Prefect3 && src.schedulesSet:
		d.Schedules = append([]ScheduleItem(nil), src.schedules...)
	case major == Prefect3 && src.schedule != nil:
		d.Schedules = []ScheduleItem{{Schedule: *src.schedule, Pos: src.schedulePos}}
	case src.schedule != nil:
		s := *src.schedule
		d.Schedule = &s
	}
	d.Paused = pickBool(own.pausedSet, own.paused, def.paused)
	d.EnforceParameterSchema = pickBool(own.enforceSet, own.enforce, def.enforce)
	if c := def.concurrency; own.concurrencySet || c != nil {
		if own.concurrencySet {
			c = own.concurrency
		}
		if c != nil {
			n := *c
			d.ConcurrencyLimit = &n
		}
	}
	if len(def.params) > 0 || len(own.params) > 0 {
		d.Parameters = map[string]any{}
		for k, v := range def.params {
			d.Parameters[k] = deepCopy(v)
		}
		for k, v := range own.params {
			d.Parameters[k] = v
		}
	}
	name, namePos, queue := def.poolName, def.poolNamePos, def.poolQueue
	if own.poolName != nil {
		name, namePos = own.poolName, own.poolNamePos
	}
	if own.poolQueue != nil {
		queue = own.poolQueue
	}
	if (name != nil && *name != "") || (queue != nil && *queue != "") {
		d.WorkPool = &WorkPool{}
		if name != nil {
			d.WorkPool.Name, d.WorkPool.NamePos = *name, namePos
		}
		if queue != nil {
			d.WorkPool.WorkQueueName = *queue
		}
	}
	if len(def.jobVars) > 0 || len(own.jobVars) > 0 {
		if d.WorkPool == nil {
			d.WorkPool = &WorkPool{}
		}
		d.WorkPool.JobVariables = map[string]JobVariable{}
		for k, v := range def.jobVars {
			d.WorkPool.JobVariables[k] = JobVariable{Value: deepCopy(v.Value), Pos: v.Pos, Node: v.Node}
		}
		for k, v := range own.jobVars {
			d.WorkPool.JobVariables[k] = v
		}
	}
	d.IBBlock = own.ibBlock
	ov := map[string]string{}
	for k, v := range def.overrides {
		ov[k] = v
	}
	for k, v := range own.overrides {
		ov[k] = v
	}
	for k, v := range ov {
		d.InfraOverrides = append(d.InfraOverrides, Override{Key: k, Value: v})
	}
	sort.Slice(d.InfraOverrides, func(i, j int) bool { return d.InfraOverrides[i].Key < d.InfraOverrides[j].Key })
	return d
}

// pickBool is the deployment's value when it writes the key (null: not said), else the
// default's, copied.
func pickBool(set bool, own, def *bool) *bool {
	v := def
	if set {
		v = own
	}
	if v == nil {
		return nil
	}
	b := *v
	return &b
}

func pick(set bool, own, def string) string {
	if set {
		return own
	}
	return def
}

// deepCopy copies a default parameter value so deployments never share (and so never
// change each other's) nested maps or lists.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
