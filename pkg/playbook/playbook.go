// Package playbook loads product playbooks: the per-product knowledge (which
// files to patch and how, which databases and scripts, how to start a node)
// kept as TOML data so that the engine stays product-agnostic.
package playbook

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
	"github.com/carbonctl/carbonctl/playbooks"
)

// Playbook is one product's list of steps.
type Playbook struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Domain is the clustering domain used when the inventory sets none.
	Domain string `toml:"domain"`
	Start  Start  `toml:"start"`
	// Java lists the Java versions the product supports.
	Java Java `toml:"java"`
	// DepSync holds the product's defaults for [depsync] in the inventory.
	DepSync DepSync `toml:"depsync"`
	// Vars declares the product settings the templates use (.Vars.KEY),
	// each with its default and the pattern every value must match; an
	// inventory's [vars] may override them with values of the same type.
	Vars map[string]*Var `toml:"vars"`
	// Rules are the product guide's rules an inventory must follow.
	Rules []Rule `toml:"rule"`
	// Ports are the product's own ports beyond Carbon's (9443, 9763,
	// 8280, 8243), by name, before the node's port offset: e.g. MB's AMQP
	// port. validate checks them for clashes like Carbon's.
	Ports map[string]int `toml:"ports"`
	Steps []Step         `toml:"step"`
	// Source is where the playbook was read from (embedded name or path).
	Source string `toml:"-"`
}

// Rule is one rule of the product's guide, checked before anything runs.
type Rule struct {
	// Check is a template that must render "true" for every node of the
	// playbook (rendered with .Node set).
	Check string `toml:"check"`
	// Message explains the rule to the operator whose inventory breaks it.
	Message string `toml:"message"`
}

// Java is a playbook's [java] table.
type Java struct {
	// Versions are the Java versions the product runs on, as Java names
	// its feature releases: "1.7", "1.8", then "9", "11", "17"...
	Versions []string `toml:"versions"`
}

// Start describes how a node of the product is started and observed.
type Start struct {
	Script         string   `toml:"script"`          // relative to CARBON_HOME
	SetupArg       string   `toml:"setup_arg"`       // given to the manager on its very first start
	ManagerArgs    []string `toml:"manager_args"`    // always given to managers
	WorkerArgs     []string `toml:"worker_args"`     // always given to workers
	PidFile        string   `toml:"pid_file"`        // relative to CARBON_HOME
	Log            string   `toml:"log"`             // relative to CARBON_HOME
	StartedPattern string   `toml:"started_pattern"` // log text that says start-up finished
	JoinedPattern  string   `toml:"joined_pattern"`  // log text before "/IP:PORT" of a peer that joined
	LeftPattern    string   `toml:"left_pattern"`    // log text before "/IP:PORT" of a peer that left
	StartingLine   string   `toml:"starting_pattern"`
}

// Step is one entry of a playbook. Type selects the implementation; the
// other fields are used by the types that need them.
type Step struct {
	Name string `toml:"name"`
	Type string `toml:"type"` // product | java | copy | databases | xml | hosts | service | start | lb-certs | lb-vhosts | truststore
	// When is a template that must render "true" for the step to apply to a node.
	When string `toml:"when"`

	// copy; SHA256 (a template, optional) is the sha256 the source must have
	Src    string `toml:"src"`
	Dest   string `toml:"dest"`
	SHA256 string `toml:"sha256"`

	// xml; truststore: the trust store, relative to CARBON_HOME
	File  string `toml:"file"`
	Edits []Edit `toml:"edit"`
	// text: create File (empty, then edited) when the node lacks it
	Create bool `toml:"create"`
	// xml, text: File carries a secret (see CarriesSecret)
	Secret bool `toml:"secret"`

	// databases
	Databases []Database `toml:"database"`

	// registry-collection: the registry database (template) and the
	// collections (templates, absolute registry paths) that must exist in it
	RegistryDB  string   `toml:"registry_db"`
	Collections []string `toml:"collections"`

	// lb-vhosts
	VHosts VHosts `toml:"vhosts"`
}

// VHosts describes the load balancer's nginx virtual hosts for a product.
type VHosts struct {
	// Prefix names the files: PREFIX.http.conf, PREFIX.https.conf and
	// mgt.PREFIX.https.conf, as the product's guide does.
	Prefix string `toml:"prefix"`
	// ServiceBackends is "workers" (worker/manager split: the service name
	// goes to the workers; to every node when there is no worker) or "all".
	ServiceBackends string `toml:"service_backends"`
	// The nodes' ports before their offset: pass-through HTTP and HTTPS
	// (service traffic) and the management console's HTTPS port.
	HTTPPort  int `toml:"http_port"`
	HTTPSPort int `toml:"https_port"`
	MgtPort   int `toml:"mgt_port"`
	// Directives are extra nginx directives for every location block.
	Directives []string `toml:"directives"`
}

// Edit is one edit of an xml or text step; its strings are templates.
type Edit struct {
	Op      string `toml:"op"` // xml: set | attr | ensure | inner | remove; text: property | replace
	Path    string `toml:"path"`
	Attr    string `toml:"attr"`
	Key     string `toml:"key"`     // text property
	Pattern string `toml:"pattern"` // text replace: a Go regexp
	Value   string `toml:"value"`
	When    string `toml:"when"`
	// Secret marks an edit that writes a secret which does not come from
	// one of the inventory's secrets: its place is masked in every diff.
	// Edits whose value uses a secret are masked without it.
	Secret bool `toml:"secret"`
}

// Database is one database of a databases step.
type Database struct {
	Name          string   `toml:"name"`            // template
	PerNode       bool     `toml:"per_node"`        // one database per node (Name uses .Node)
	Scripts       []string `toml:"scripts"`         // relative to the manager's CARBON_HOME
	MySQL57Script []string `toml:"mysql57_scripts"` // used instead on MySQL >= 5.7 when present
}

// LBStepTypes are the step types that work with the inventory's
// [loadbalancer].
var LBStepTypes = map[string]bool{"lb-certs": true, "lb-vhosts": true, "truststore": true}

// HasLBSteps reports whether the playbook configures a load balancer.
func (pb *Playbook) HasLBSteps() bool {
	for _, s := range pb.Steps {
		if LBStepTypes[s.Type] {
			return true
		}
	}
	return false
}

// ExtraPorts lists Ports in name order.
func (pb *Playbook) ExtraPorts() []inventory.Port {
	names := make([]string, 0, len(pb.Ports))
	for k := range pb.Ports {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]inventory.Port, len(names))
	for i, k := range names {
		out[i] = inventory.Port{Name: k, Base: pb.Ports[k]}
	}
	return out
}

// knownType reports whether the engine implements step type t.
func knownType(t string) bool {
	switch t {
	case "product", "java", "copy", "databases", "xml", "text", "hosts", "service", "start", "lb-certs", "lb-vhosts", "truststore", "depsync", "registry-collection":
		return true
	}
	return false
}

// Load returns the built-in playbook called nameOrPath, or reads the file at
// nameOrPath when it looks like a path.
func Load(builtin fs.FS, nameOrPath string) (*Playbook, error) {
	if strings.Contains(nameOrPath, "/") || strings.HasSuffix(nameOrPath, ".toml") {
		data, err := inventory.ReadRegular(nameOrPath, inventory.MaxInventorySize)
		if err != nil {
			return nil, fmt.Errorf("playbook %s: %w", nameOrPath, err)
		}
		return Parse(nameOrPath, data)
	}
	data, err := fs.ReadFile(builtin, nameOrPath+".toml")
	if err != nil {
		return nil, fmt.Errorf("unknown playbook %q (built-in: %s)", nameOrPath, strings.Join(Names(builtin), ", "))
	}
	return Parse(nameOrPath, data)
}

// Names lists the built-in playbooks.
func Names(builtin fs.FS) []string {
	matches, _ := fs.Glob(builtin, "*.toml")
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".toml"))
	}
	sort.Strings(names)
	return names
}

// Parse decodes and checks a playbook.
func Parse(source string, data []byte) (*Playbook, error) {
	data, err := expandFragments(source, data, playbooks.FS)
	if err != nil {
		return nil, err
	}
	var pb Playbook
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&pb)
	if err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("playbook %s: unknown key %s", source, und[0])
	}
	pb.Source = source
	if err := pb.check(); err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	return &pb, nil
}

func (pb *Playbook) check() error {
	if pb.Name == "" {
		return fmt.Errorf("name is missing")
	}
	seen := map[string]bool{}
	for i, s := range pb.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.Name)
		if s.Name == "" {
			return fmt.Errorf("step %d: name is missing", i+1)
		}
		if seen[s.Name] {
			return fmt.Errorf("%s: duplicate step name", where)
		}
		seen[s.Name] = true
		if !knownType(s.Type) {
			return fmt.Errorf("%s: unknown type %q", where, s.Type)
		}
		if err := s.checkFields(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	for i, r := range pb.Rules {
		if r.Check == "" || r.Message == "" {
			return fmt.Errorf("rule %d needs check and message", i+1)
		}
	}
	for k, p := range pb.Ports {
		if p < 1 || p > 65535 {
			return fmt.Errorf("[ports] %s = %d: want a port number", k, p)
		}
	}
	if err := checkVars(pb.Vars); err != nil {
		return err
	}
	if pb.Start.Script == "" || pb.Start.PidFile == "" || pb.Start.Log == "" || pb.Start.StartedPattern == "" {
		return fmt.Errorf("[start] needs script, pid_file, log and started_pattern")
	}
	if len(pb.Java.Versions) == 0 {
		return fmt.Errorf("[java] versions is missing: list the Java versions the product supports, e.g. versions = [\"1.7\", \"1.8\"]")
	}
	return pb.DepSync.check()
}

func (s Step) checkFields() error {
	if s.Secret && s.Type != "xml" && s.Type != "text" {
		return fmt.Errorf("secret applies to xml and text steps only")
	}
	switch s.Type {
	case "copy":
		if s.Src == "" || s.Dest == "" {
			return fmt.Errorf("copy needs src and dest")
		}
	case "xml":
		if s.File == "" || len(s.Edits) == 0 {
			return fmt.Errorf("xml needs file and at least one edit")
		}
		for j, e := range s.Edits {
			if _, err := xmlpatch.ParseKind(e.Op); err != nil {
				return fmt.Errorf("edit %d: %w", j+1, err)
			}
			if e.Path == "" {
				return fmt.Errorf("edit %d: path is missing", j+1)
			}
		}
	case "text":
		return s.checkText()
	case "databases":
		if len(s.Databases) == 0 {
			return fmt.Errorf("databases needs at least one [[step.database]]")
		}
	case "registry-collection":
		if s.RegistryDB == "" || len(s.Collections) == 0 {
			return fmt.Errorf("registry-collection needs registry_db and at least one of collections")
		}
	case "truststore":
		if s.File == "" {
			return fmt.Errorf("truststore needs file (the trust store, relative to CARBON_HOME)")
		}
	case "lb-vhosts":
		return s.VHosts.check()
	}
	return nil
}

func (v VHosts) check() error {
	switch {
	case v.Prefix == "":
		return fmt.Errorf("lb-vhosts needs [step.vhosts] prefix, e.g. \"esb\" for esb.http.conf")
	case v.ServiceBackends != "" && v.ServiceBackends != "workers" && v.ServiceBackends != "all":
		return fmt.Errorf("vhosts.service_backends %q: want \"workers\" or \"all\"", v.ServiceBackends)
	case v.HTTPPort <= 0 || v.HTTPSPort <= 0 || v.MgtPort <= 0:
		return fmt.Errorf("lb-vhosts needs [step.vhosts] http_port, https_port and mgt_port (the nodes' ports before their offset)")
	}
	return nil
}

// CarriesSecret reports whether the step's file holds a secret, so that it
// and its backup are kept readable by the product user only (0600): the
// step says secret = true, or one of its edits names a password in its
// path, attribute, key or value template (e.g. {{.DB.Password}}), whether
// or not its `when` holds on a given node.
func (s Step) CarriesSecret() bool {
	if s.Secret {
		return true
	}
	for _, e := range s.Edits {
		for _, f := range []string{e.Path, e.Attr, e.Key, e.Value} {
			if strings.Contains(strings.ToLower(f), "password") {
				return true
			}
		}
	}
	return false
}
