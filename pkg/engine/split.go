package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// memberSetting is a setting that every member of a Carbon cluster must
// share to join the others. Hazelcast admits a joining member only when its
// group (Carbon's clustering domain), its join mechanism (Carbon's
// membership scheme: multicast or WKA TCP/IP), its partition count and its
// application validation token match the cluster's; a member that finds no
// peer on the same multicast group never hears of the others; a node with
// clustering (or a different clustering agent) switched off never joins at
// all. A rolling restart cannot carry a change of one of these: the first
// node restarted forms a cluster of its own.
type memberSetting struct {
	file string // base name of the file holding it
	// xml: element path in that XML file, with attr the attribute to read
	// ("" for the element's text); else key is a properties key.
	xml, attr, key string
	def            string // Carbon's (or Hazelcast's) value when the file sets none
	what           string // how messages name it
	// scheme, when set, limits the setting to clusters whose membership
	// scheme (before or after the change) is this one.
	scheme string
}

// axis2Clustering is the clustering element of axis2.xml.
const axis2Clustering = "/axisconfig/clustering"

// memberSettings are the settings whose change splits a running cluster.
func memberSettings() []memberSetting {
	param := func(name string) string { return axis2Clustering + "/parameter[@name='" + name + "']" }
	return []memberSetting{
		{file: "axis2.xml", xml: axis2Clustering, attr: "enable", def: "false", what: "clustering enabled"},
		{file: "axis2.xml", xml: axis2Clustering, attr: "class", what: "clustering agent"},
		{file: "axis2.xml", xml: param("domain"), def: "wso2.carbon.domain", what: "clustering domain (Hazelcast group)"},
		{file: "axis2.xml", xml: param("membershipScheme"), def: "multicast", what: schemeWhat},
		{file: "axis2.xml", xml: param("mcastAddress"), def: "224.2.2.3", what: "multicast address", scheme: "multicast"},
		{file: "axis2.xml", xml: param("mcastPort"), def: "54327", what: "multicast port", scheme: "multicast"},
		{file: "hazelcast.properties", key: "hazelcast.partition.count", def: "271", what: "Hazelcast partition count"},
		{file: "hazelcast.properties", key: "hazelcast.application.validation.token", what: "Hazelcast application validation token"},
	}
}

// holdsMemberSettings reports whether a file (by base name) holds any.
func holdsMemberSettings(file string) bool {
	for _, s := range memberSettings() {
		if s.file == file {
			return true
		}
	}
	return false
}

// value reads the setting from a file's content; the default when unset.
func (s memberSetting) value(content []byte) string {
	var v string
	var ok bool
	switch {
	case s.xml != "" && s.attr != "":
		v, ok, _ = xmlpatch.GetAttr(content, s.xml, s.attr)
	case s.xml != "":
		v, ok, _ = xmlpatch.Get(content, s.xml)
	default:
		v, ok = PropertyValue(content, s.key)
	}
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return s.def
	}
	return v
}

// PropertyValue reads key from a Java properties file (key=value or
// key: value; # and ! start comments). The last setting wins, as in Java.
func PropertyValue(content []byte, key string) (string, bool) {
	value, found := "", false
	sc := bufio.NewScanner(bytes.NewReader(content))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 || strings.TrimSpace(line[:i]) != key {
			continue
		}
		value, found = strings.TrimSpace(line[i+1:]), true
	}
	return value, found
}

// Identity is what a node's files say about the cluster it may join: the
// value of each member setting (by its description) in the files read.
type Identity map[string]string

// AddFile records the member settings of one file (file is its base name).
func (id Identity) AddFile(file string, content []byte) {
	for _, s := range memberSettings() {
		if s.file == file {
			id[s.what] = s.value(content)
		}
	}
}

// schemeWhat names the membership scheme setting in an identity.
const schemeWhat = "membership scheme"

// Differences describes each member setting of other that differs from
// id's, e.g. `clustering domain (Hazelcast group) "a" → "b"`; settings only
// one of them read are not compared, nor the multicast group unless either
// uses multicast.
func (id Identity) Differences(other Identity) []string {
	var out []string
	for _, s := range memberSettings() {
		before, inID := id[s.what]
		after, inOther := other[s.what]
		if !inID || !inOther || before == after {
			continue
		}
		if s.scheme != "" && id[schemeWhat] != s.scheme && other[schemeWhat] != s.scheme {
			continue
		}
		out = append(out, fmt.Sprintf("%s %q → %q", s.what, before, after))
	}
	return out
}

// ClusterSplit is a planned change that members of the old and the new
// configuration cannot bridge: it needs a full restart.
type ClusterSplit struct {
	Changes []string // what changes, each once
	nodes   []string // running nodes whose configuration changes
}

// Reason is the start step's explanation for a full restart.
func (c *ClusterSplit) Reason() string {
	return fmt.Sprintf("full restart: members of the old and new domain cannot join (%s)", strings.Join(c.Changes, "; "))
}

// PlanSplit works out, from the edits the playbook's xml and text steps
// would make to the files that hold member settings, whether a rolling
// restart would split the running cluster: some running node's settings
// change, and another running node (still running its current settings
// while the first restarts) has settings the first one's new ones cannot
// join. It reads only what the batch read fetched and changes nothing.
func (e *Engine) PlanSplit(ctx context.Context) *ClusterSplit {
	type member struct {
		n                *Node
		current, planned Identity
	}
	var running []member
	for _, n := range e.Nodes {
		if !n.IsFailed() && RunningPID(n) != "" {
			current, planned := e.memberIdentity(ctx, n, false)
			running = append(running, member{n, current, planned})
		}
	}
	for _, m := range running {
		if len(m.current.Differences(m.planned)) > 0 {
			// Some settings change: compare the files the record vouched for too.
			for i, m := range running {
				running[i].current, running[i].planned = e.memberIdentity(ctx, m.n, true)
			}
			break
		}
	}
	split := &ClusterSplit{}
	seen := map[string]bool{}
	for _, a := range running {
		if len(a.current.Differences(a.planned)) == 0 {
			continue
		}
		changed := false
		for _, b := range running {
			if b.n == a.n {
				continue
			}
			for _, c := range b.current.Differences(a.planned) {
				changed = true
				if !seen[c] {
					seen[c] = true
					split.Changes = append(split.Changes, c)
				}
			}
		}
		if changed {
			split.nodes = append(split.nodes, a.n.Name())
		}
	}
	if len(split.Changes) == 0 {
		return nil
	}
	sort.Strings(split.Changes)
	return split
}

// memberIdentity reads the node's member settings from its files as they
// are and as the playbook's edits would leave them. A file the record
// vouches for is left out (the edits change nothing in it) unless fetch
// says to read it.
func (e *Engine) memberIdentity(ctx context.Context, n *Node, fetch bool) (current, planned Identity) {
	original := map[string][]byte{}
	edited := map[string][]byte{}
	for _, s := range e.PB.Steps {
		k, ok := s.Kind.(FileEditor)
		if !ok {
			continue
		}
		edit := k.Editor(e, s, n)
		file, create := k.EditedFile()
		rel, err := n.Vars.Render(s.Name+".file", file)
		if ok, werr := n.Vars.When(s.Name+".when", s.When); err != nil || werr != nil || !ok || !holdsMemberSettings(path.Base(rel)) {
			continue
		}
		p := n.Home(rel)
		if _, done := edited[p]; !done {
			cur, err := n.Host.Read(ctx, p)
			if err == nil && cur.Known && fetch {
				cur, err = n.Host.fetch(ctx, p)
			}
			if err != nil || !cur.Exists && !create || cur.Known {
				continue // the step itself reports it; or a known file
			}
			original[p], edited[p] = cur.Content, cur.Content
		}
		if out, changed, err := edit(p, edited[p]); err == nil && changed {
			edited[p] = out
		}
	}
	current, planned = Identity{}, Identity{}
	for p, content := range edited {
		current.AddFile(path.Base(p), original[p])
		planned.AddFile(path.Base(p), content)
	}
	return current, planned
}

// CheckSplit refuses a run whose changes need a full restart (planSplit)
// unless the operator allows the downtime, and a full restart limited to
// some nodes; it returns the failed result, or nil when the run may go on.
// In a plan it only says what `up` will do.
func (e *Engine) CheckSplit() *Result {
	if e.Split == nil {
		return nil
	}
	what := fmt.Sprintf("%s; running nodes affected: %s", e.Split.Reason(), strings.Join(e.Split.nodes, ", "))
	e.Out.Header("CLUSTER CHANGE", e.Inv.Cluster.Name)
	res := &Result{Step: "cluster-change", Target: e.Inv.Cluster.Name}
	switch {
	case e.Planning():
		e.Out.Printf("%s: `up --allow-downtime` stops every node of this product, then starts the manager first and the others after it\n", what)
		return nil
	case len(e.Targets) < len(e.Nodes):
		return Fail(res, fmt.Errorf("%s: a full restart takes every node of the product: run without --limit (nothing was changed)", what))
	case !e.Opts.AllowDowntime:
		return Fail(res, fmt.Errorf("%s: a rolling restart would split the cluster in two; run again with --allow-downtime to stop every node of this product and start them in the new configuration, manager first (nothing was changed)", what))
	}
	e.Out.Printf("%s: --allow-downtime: every node of this product stops, then the manager starts first\n", what)
	return nil
}
