package steps_test

// Step kinds tested as data: each testdata/kinds/KIND/*.toml is a case —
// an inventory, a playbook with the step under test, the hosts' facts
// (files, probes, scripted commands) — and the runs to make against it
// through engine.Run with fake hosts (remotetest), each with what it must
// return (results), write (files), run (commands) and print. A plan must
// write nothing and run nothing, whatever the case says; every case starts
// with one.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote/remotetest"
	"github.com/carbonctl/carbonctl/pkg/steps"
)

// kindCase is one testdata/kinds case file.
type kindCase struct {
	Description string
	// Inventory replaces testdata/kinds/inventory.toml; InventoryAppend
	// is added to it (e.g. a [loadbalancer] table).
	Inventory       string
	InventoryAppend string `toml:"inventory_append"`
	// Playbook replaces testdata/kinds/playbook.toml (the header: name,
	// [java], [start]); Steps is added to it.
	Playbook string
	Steps    string
	Env      map[string]string // the environment the inventory's *_env secrets come from
	// Local are files on the control machine, relative to the inventory.
	Local map[string]string
	// Archive are the product zip's files, relative to CARBON_HOME.
	Archive map[string]string
	// JDK, when set, are the files of jdk.tar.gz (a [java] archive), below
	// its top directory; those below bin/ are executable.
	JDK   map[string]string
	Hosts []hostCase `toml:"host"`
	Runs  []runCase  `toml:"run"`
}

// hostCase sets up one fake host (every host of the inventory exists, as
// remotetest.NewLinuxHost lays it out, whether listed or not).
type hostCase struct {
	Addr string
	// Installed: the nodes of this host have their product user and a
	// CARBON_HOME unpacked from the archive by carbonctl.
	Installed bool
	// Systemd: systemd runs the host (/run/systemd/system and
	// /etc/systemd/system exist).
	Systemd bool
	// Unreachable, when set, is the error connecting to the host gives.
	Unreachable string
	Files       []fileCase `toml:"file"`
	Dirs        []fileCase `toml:"dir"`
	Links       []fileCase `toml:"link"`
	Remove      []string
	Probes      map[string]probeCase
	Commands    []commandCase `toml:"command"`
}

// fileCase is a file, directory or link to create (or, in a run, to find).
type fileCase struct {
	// Content "@certs/lb.crt" is the content of testdata/kinds/certs/lb.crt.
	Host, Path, Content, Mode, Owner, Group, Target string
	As                                              string   // a write: who wrote it ("" = root)
	Contains                                        []string // a write: substrings of its content
	Missing                                         bool     // a state check: the path must not exist; a write: it was removed later in the run
}

type probeCase struct {
	Stdout string
	Exit   int
}

// commandCase scripts a command and what it changes on the host.
type commandCase struct {
	As             string
	Contains       []string
	Stdout, Stderr string
	Exit, Times    int
	// What the command changes: files and links it creates, what probes
	// say after it, and files it writes with what its script says
	// (Capture: the first group of Pattern, plus a newline); Remove is
	// deleted first (with what is below it).
	Dirs    []fileCase `toml:"dir"`
	Files   []fileCase `toml:"file"`
	Links   []fileCase `toml:"link"`
	Remove  []string
	Probes  map[string]probeCase
	Capture []captureCase `toml:"capture"`
}

// captureCase is a file a command writes from its own script.
type captureCase struct {
	Path, Pattern string
}

// runCase is one engine.Run and what it must do.
type runCase struct {
	Apply         bool
	Limit         []string
	AllowDowntime bool         `toml:"allow_downtime"`
	Forks         int          // default 4; 1 makes the order of the nodes deterministic
	JoinTimeout   string       `toml:"join_timeout"`
	Err           string       // engine.Run's error, "" for none
	Results       []resultCase `toml:"result"`
	// Writes are exactly the files the run writes.
	Writes []fileCase `toml:"write"`
	// Commands are exactly the commands the run runs (besides releasing
	// the run lock).
	Commands  []callCase `toml:"command"`
	State     []fileCase `toml:"state"`
	Output    []string
	NotOutput []string `toml:"not_output"`
	// OneRead: every host is read in one Gather of one round trip (what
	// a no-op run must cost).
	OneRead bool `toml:"one_read"`
	// anyResults: the results are not compared (the plan every case
	// starts with, which is only checked to change nothing).
	anyResults bool
}

// resultCase is one result of a run; a run must return exactly these.
type resultCase struct {
	Target, Step, Status string
	Message              string   // in the error or the note
	Actions              []string // each in some action's description
	Diff                 []string // each in some action's diff
}

type callCase struct {
	Host, As      string
	Contains      []string
	NotContains   []string `toml:"not_contains"`
	StdinContains []string `toml:"stdin_contains"`
}

// Fixed facts of the base inventory.
const (
	productUser = "wso2"
	archiveName = "wso2esb-4.9.0.zip"
	jdkName     = "jdk.tar.gz"
	lockRelease = "grep -qxF 'token="
)

func TestStepKindsAsData(t *testing.T) {
	files, err := filepath.Glob("testdata/kinds/*/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	if top, _ := filepath.Glob("testdata/kinds/*.toml"); len(top) != 2 {
		t.Fatalf("testdata/kinds holds %q: cases go in testdata/kinds/KIND/, beside inventory.toml and playbook.toml", top)
	}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "testdata/kinds/"), ".toml")
		t.Run(name, func(t *testing.T) {
			var c kindCase
			md, err := toml.DecodeFile(file, &c)
			if err != nil {
				t.Fatal(err)
			}
			if und := md.Undecoded(); len(und) > 0 {
				t.Fatalf("%s: unknown key %s", file, und[0])
			}
			c.run(t)
		})
	}
}

// run sets the case up and makes its runs in order, on the same hosts.
func (c *kindCase) run(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the archive's sha256 cache
	dir := t.TempDir()
	inv := c.inventory(t, dir)
	pb := c.playbook(t)
	net := remotetest.NewNetwork(t)
	for _, addr := range hostAddrs(inv) {
		h := net.Add(addr)
		h.Probe("run-lock", "acquired\n", 0)
		h.OnCommand(remotetest.Command{As: remotetest.AnyUser, Contains: []string{lockRelease}})
	}
	marker := strings.NewReplacer("{{marker}}", fmt.Sprintf("sha256 %s\narchive %s\n", fileSHA256(t, filepath.Join(dir, archiveName)), archiveName))
	if c.JDK != nil {
		marker = strings.NewReplacer("{{marker}}", fmt.Sprintf("sha256 %s\narchive %s\n", fileSHA256(t, filepath.Join(dir, archiveName)), archiveName),
			"{{jdkmarker}}", fmt.Sprintf("sha256 %s\narchive %s\n", fileSHA256(t, filepath.Join(dir, jdkName)), jdkName))
	}
	for _, hc := range c.Hosts {
		h := net.Host(hc.Addr)
		if h == nil {
			t.Fatalf("host %s is not in the inventory", hc.Addr)
		}
		hc.setUp(t, h, inv, c.Archive, marker)
		if hc.Unreachable != "" {
			net.Unreachable(hc.Addr, errors.New(hc.Unreachable))
		}
	}
	if len(c.Runs) == 0 {
		t.Fatal("the case has no [[run]]")
	}
	runCase{anyResults: true}.check(t, "run 0 (plan of the initial state)", net, inv, pb)
	for i, r := range c.Runs {
		what := fmt.Sprintf("run %d (%s)", i+1, map[bool]string{false: "plan", true: "up"}[r.Apply])
		r.check(t, what, net, inv, pb)
	}
	for _, hc := range c.Hosts {
		hc.checkUsed(t, net.Host(hc.Addr))
	}
}

// checkUsed fails for scripted commands and probes no run used: stale
// case data that would hide what the engine no longer does.
func (hc hostCase) checkUsed(t *testing.T, h *remotetest.Host) {
	for _, cmd := range h.Unused() {
		if !slices.Contains(cmd.Contains, lockRelease) {
			t.Errorf("%s: no run ran the command scripted as %s containing %q", hc.Addr, cmd.As, cmd.Contains)
		}
	}
	asked := map[string]bool{}
	for _, r := range h.Reads() {
		for name := range r.Request.Probes {
			asked[name] = true
		}
	}
	for name := range hc.Probes {
		if !asked[name] {
			t.Errorf("%s: no run read the probe %q the case scripts", hc.Addr, name)
		}
	}
}

// inventory writes the case's inventory and control-machine files to dir
// and parses it.
func (c *kindCase) inventory(t *testing.T, dir string) *inventory.Inventory {
	text := c.Inventory
	if text == "" {
		text = readFile(t, "testdata/kinds/inventory.toml")
	}
	text += "\n" + c.InventoryAppend
	local := map[string]string{"mysql-connector.jar": "JDBC driver v1\n", "known_hosts": ""}
	for k, v := range c.Local {
		local[k] = data(t, v)
	}
	for name, data := range local {
		writeLocal(t, filepath.Join(dir, name), []byte(data))
	}
	writeArchive(t, filepath.Join(dir, archiveName), c.Archive)
	if c.JDK != nil {
		writeJDK(t, filepath.Join(dir, jdkName), c.JDK)
	}
	env := func(k string) (string, bool) {
		v, ok := c.Env[k]
		return v, ok
	}
	inv, err := inventory.Parse(filepath.Join(dir, "inventory.toml"), dir, []byte(text), env, inventory.Options{CheckFiles: true})
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	return inv
}

func (c *kindCase) playbook(t *testing.T) *playbook.Playbook {
	text := c.Playbook
	if text == "" {
		text = readFile(t, "testdata/kinds/playbook.toml")
	}
	pb, err := playbook.Parse("case playbook", []byte(text+"\n"+c.Steps), steps.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// hostAddrs are the addresses of the inventory's hosts.
func hostAddrs(inv *inventory.Inventory) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, n := range inv.Nodes {
		add(n.Host)
	}
	if inv.LoadBalancer != nil {
		add(inv.LoadBalancer.Host)
	}
	return out
}

// setUp gives h the case's facts.
func (hc hostCase) setUp(t *testing.T, h *remotetest.Host, inv *inventory.Inventory, archive map[string]string, marker *strings.Replacer) {
	if hc.Installed {
		install(h, inv, archive, marker)
	}
	if hc.Systemd {
		for _, d := range []string{"/run/systemd/system", "/etc/systemd/system", "/etc/systemd/system/multi-user.target.wants"} {
			h.Dir(d, 0o755, "root", "root")
		}
	}
	putDirs(t, h, hc.Dirs)
	putFiles(t, h, hc.Files, marker)
	for _, l := range hc.Links {
		h.Symlink(l.Path, l.Target, or(l.Owner, "root"))
	}
	for _, p := range hc.Remove {
		h.Remove(p)
	}
	for name, p := range hc.Probes {
		h.Probe(name, p.Stdout, p.Exit)
	}
	for _, cc := range hc.Commands {
		h.OnCommand(cc.command(t, marker))
	}
}

// install lays out, for every node of h, what a converged product step
// leaves: the product user and group, and CARBON_HOME (the user's) holding
// the archive's files and carbonctl's marker.
func install(h *remotetest.Host, inv *inventory.Inventory, archive map[string]string, marker *strings.Replacer) {
	h.File("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwso2:x:999:999::/home/wso2:/bin/bash\n", 0o644, "root", "root")
	h.File("/etc/group", "root:x:0:\nwso2:x:999:\n", 0o644, "root", "root")
	for _, n := range inv.Nodes {
		if n.Host != h.Addr() {
			continue
		}
		home := or(n.Home, inv.Product.Home)
		h.Dir(home, 0o755, productUser, productUser)
		h.File(path.Join(home, ".carbonctl-archive"), marker.Replace("{{marker}}"), 0o644, productUser, productUser)
		for rel, content := range archive {
			var dirs []string
			for d := path.Dir(path.Join(home, rel)); d != home; d = path.Dir(d) {
				dirs = append([]string{d}, dirs...)
			}
			for _, d := range dirs {
				if h.Lookup(d) == nil {
					h.Dir(d, 0o755, productUser, productUser)
				}
			}
			h.File(path.Join(home, rel), content, 0o644, productUser, productUser)
		}
	}
}

// command turns a scripted command of a case into a remotetest.Command.
func (cc commandCase) command(t *testing.T, marker *strings.Replacer) remotetest.Command {
	cmd := remotetest.Command{As: cc.As, Contains: cc.Contains, Stdout: data(t, cc.Stdout), Stderr: cc.Stderr, Exit: cc.Exit, Times: cc.Times}
	if len(cc.Dirs)+len(cc.Files)+len(cc.Links)+len(cc.Probes)+len(cc.Capture)+len(cc.Remove) == 0 {
		return cmd
	}
	cmd.Effect = func(h *remotetest.Host, c remotetest.Call) error {
		for _, p := range cc.Remove {
			h.Remove(p)
		}
		putDirs(t, h, cc.Dirs)
		putFiles(t, h, cc.Files, marker)
		for _, l := range cc.Links {
			h.Symlink(l.Path, l.Target, or(l.Owner, "root"))
		}
		for name, p := range cc.Probes {
			h.Probe(name, p.Stdout, p.Exit)
		}
		for _, cp := range cc.Capture {
			m := regexp.MustCompile(cp.Pattern).FindStringSubmatch(c.Script)
			if len(m) < 2 {
				return fmt.Errorf("capture %s: %q matches nothing in the script", cp.Path, cp.Pattern)
			}
			h.File(cp.Path, m[1]+"\n", 0o644, "root", "root")
		}
		return nil
	}
	return cmd
}

// putDirs creates directories on h.
func putDirs(t *testing.T, h *remotetest.Host, dirs []fileCase) {
	for _, d := range dirs {
		h.Dir(d.Path, parseMode(t, d.Mode, 0o755), or(d.Owner, "root"), or(d.Group, or(d.Owner, "root")))
	}
}

// putFiles creates files on h; "{{marker}}" and "{{jdkmarker}}" in their
// content stand for the product and JDK archives' markers.
func putFiles(t *testing.T, h *remotetest.Host, files []fileCase, marker *strings.Replacer) {
	for _, f := range files {
		h.File(f.Path, f.content(t, marker), parseMode(t, f.Mode, 0o644), or(f.Owner, "root"), or(f.Group, or(f.Owner, "root")))
	}
}

// content is the file's content, with the markers replaced.
func (f fileCase) content(t *testing.T, marker *strings.Replacer) string {
	return marker.Replace(data(t, f.Content))
}

// data is s, or for "@NAME" the content of testdata/kinds/NAME.
func data(t *testing.T, s string) string {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		return readFile(t, filepath.Join("testdata/kinds", name))
	}
	return s
}

// check makes the run and compares what it did with the case.
func (r runCase) check(t *testing.T, what string, net *remotetest.Network, inv *inventory.Inventory, pb *playbook.Playbook) {
	before := map[string][3]int{}
	for _, addr := range hostAddrs(inv) {
		h := net.Host(addr)
		before[addr] = [3]int{len(h.Writes()), len(h.Calls()), len(h.Reads())}
	}
	var out bytes.Buffer
	opts := engine.Options{Apply: r.Apply, Limit: r.Limit, AllowDowntime: r.AllowDowntime, Forks: r.Forks, Out: &out, Dial: net.Dial}
	if opts.Forks == 0 {
		opts.Forks = 4
	}
	if r.JoinTimeout != "" {
		d, err := time.ParseDuration(r.JoinTimeout)
		if err != nil {
			t.Fatalf("%s: join_timeout: %v", what, err)
		}
		opts.JoinTimeout = d
	}
	report, err := engine.Run(context.Background(), []engine.Group{{Inv: inv, PB: pb}}, opts)
	if got := fmt.Sprint(err); (err == nil) != (r.Err == "") || err != nil && !strings.Contains(got, r.Err) {
		t.Fatalf("%s: engine.Run error %v, want %q", what, err, r.Err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("%s printed:\n%s", what, out.String())
		}
	}()
	if report != nil && !r.anyResults {
		checkResults(t, what, report.Results, r.Results)
	}
	var writes []hostWrite
	var calls []hostCall
	for _, addr := range hostAddrs(inv) {
		h := net.Host(addr)
		for _, w := range h.Writes()[before[addr][0]:] {
			writes = append(writes, hostWrite{addr, w})
		}
		for _, c := range h.Calls()[before[addr][1]:] {
			if !strings.Contains(c.Script, lockRelease) {
				calls = append(calls, hostCall{addr, c})
			}
		}
		if reads := h.Reads()[before[addr][2]:]; r.OneRead && (len(reads) > 1 || len(reads) == 1 && reads[0].RoundTrips != 1) {
			t.Errorf("%s: %s was read %d times (%+v); a converged run reads each host in one round trip", what, addr, len(reads), reads)
		}
	}
	if !r.Apply && len(writes)+len(calls) > 0 {
		t.Errorf("%s: a plan wrote %d files and ran %d commands; it must change nothing", what, len(writes), len(calls))
	}
	checkWrites(t, what, net, writes, r.Writes)
	checkCalls(t, what, calls, r.Commands)
	for _, s := range r.State {
		checkState(t, what, net, s)
	}
	for _, s := range r.Output {
		if !strings.Contains(out.String(), s) {
			t.Errorf("%s: output lacks %q", what, s)
		}
	}
	for _, s := range r.NotOutput {
		if strings.Contains(out.String(), s) {
			t.Errorf("%s: output shows %q", what, s)
		}
	}
}

// checkResults matches the results, by target and step, with the case's.
func checkResults(t *testing.T, what string, got []*engine.Result, want []resultCase) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		i := slices.IndexFunc(got, func(r *engine.Result) bool { return r.Target == w.Target && r.Step == w.Step })
		if i < 0 || used[i] {
			t.Errorf("%s: no result for %s on %s", what, w.Step, w.Target)
			continue
		}
		used[i] = true
		checkResult(t, what, got[i], w)
	}
	for i, r := range got {
		if !used[i] {
			t.Errorf("%s: unexpected result: %s on %s: %s %s %v %+v", what, r.Step, r.Target, r.Status, r.Note, r.Err, r.Actions)
		}
	}
}

func checkResult(t *testing.T, what string, got *engine.Result, w resultCase) {
	t.Helper()
	where := fmt.Sprintf("%s: %s on %s", what, w.Step, w.Target)
	if got.Status.String() != w.Status {
		t.Errorf("%s: status %s, want %s (note %q, error %v, actions %+v)", where, got.Status, w.Status, got.Note, got.Err, got.Actions)
	}
	message := got.Note
	if got.Err != nil {
		message += " " + got.Err.Error()
	}
	if !strings.Contains(message, w.Message) {
		t.Errorf("%s: message %q lacks %q", where, message, w.Message)
	}
	var descs, diffs []string
	for _, a := range got.Actions {
		descs, diffs = append(descs, a.Desc), append(diffs, a.Diff)
	}
	for _, s := range w.Actions {
		if !strings.Contains(strings.Join(descs, "\n"), s) {
			t.Errorf("%s: no action says %q: %q", where, s, descs)
		}
	}
	for _, s := range w.Diff {
		if !strings.Contains(strings.Join(diffs, "\n"), s) {
			t.Errorf("%s: no diff holds %q:\n%s", where, s, strings.Join(diffs, "\n"))
		}
	}
	if len(w.Actions) == 0 && len(got.Actions) > 0 {
		t.Errorf("%s: unexpected actions %q", where, descs)
	}
}

type hostWrite struct {
	addr string
	w    remotetest.Write
}

type hostCall struct {
	addr string
	c    remotetest.Call
}

// checkWrites: the run wrote exactly the case's files, as it says.
func checkWrites(t *testing.T, what string, net *remotetest.Network, got []hostWrite, want []fileCase) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		i := -1
		for j, g := range got {
			if !used[j] && g.addr == w.Host && g.w.Path == w.Path {
				i = j
				break
			}
		}
		if i < 0 {
			t.Errorf("%s: %s:%s was not written", what, w.Host, w.Path)
			continue
		}
		used[i] = true
		g := got[i].w
		if g.Opts.As != w.As {
			t.Errorf("%s: %s:%s written as %q, want %q", what, w.Host, w.Path, g.Opts.As, w.As)
		}
		checkContent(t, what, w, string(g.Data))
		if w.Missing {
			checkState(t, what, net, fileCase{Host: w.Host, Path: w.Path, Missing: true})
			continue
		}
		checkState(t, what, net, fileCase{Host: w.Host, Path: w.Path, Mode: w.Mode, Owner: w.Owner, Group: w.Group})
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("%s: unexpected write of %s:%s (as %q):\n%s", what, g.addr, g.w.Path, g.w.Opts.As, g.w.Data)
		}
	}
}

// checkCalls: the run ran exactly the case's commands.
func checkCalls(t *testing.T, what string, got []hostCall, want []callCase) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		i := -1
		for j, g := range got {
			if !used[j] && g.addr == w.Host && g.c.As == w.As && containsAll(g.c.Script, w.Contains) &&
				!slices.ContainsFunc(w.NotContains, func(s string) bool { return strings.Contains(g.c.Script, s) }) && containsAll(string(g.c.Stdin), w.StdinContains) {
				i = j
				break
			}
		}
		if i < 0 {
			t.Errorf("%s: no command on %s as %s containing %q", what, w.Host, w.As, w.Contains)
			continue
		}
		used[i] = true
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("%s: unexpected command on %s as %s:\n%s", what, g.addr, g.c.As, g.c.Script)
		}
	}
}

// checkState compares a path of a host with the case (empty fields are
// not checked).
func checkState(t *testing.T, what string, net *remotetest.Network, s fileCase) {
	t.Helper()
	e := net.Host(s.Host).Lookup(s.Path)
	switch {
	case s.Missing && e != nil:
		t.Errorf("%s: %s:%s exists (%+v), want none", what, s.Host, s.Path, e)
		return
	case s.Missing:
		return
	case e == nil:
		t.Errorf("%s: %s:%s does not exist", what, s.Host, s.Path)
		return
	}
	if s.Mode != "" && e.Mode != parseMode(t, s.Mode, 0) {
		t.Errorf("%s: %s:%s has mode %04o, want %s", what, s.Host, s.Path, e.Mode.Perm(), s.Mode)
	}
	if s.Owner != "" && e.Owner != s.Owner || s.Group != "" && e.Group != s.Group {
		t.Errorf("%s: %s:%s is %s:%s, want %s:%s", what, s.Host, s.Path, e.Owner, e.Group, s.Owner, s.Group)
	}
	if s.Target != "" && e.Target != s.Target {
		t.Errorf("%s: %s:%s points to %q, want %q", what, s.Host, s.Path, e.Target, s.Target)
	}
	checkContent(t, what, s, string(e.Data))
}

func checkContent(t *testing.T, what string, w fileCase, got string) {
	t.Helper()
	if w.Content != "" && got != data(t, w.Content) {
		t.Errorf("%s: %s:%s holds\n%s\nwant\n%s", what, w.Host, w.Path, got, w.Content)
	}
	for _, s := range w.Contains {
		if !strings.Contains(got, s) {
			t.Errorf("%s: %s:%s lacks %q:\n%s", what, w.Host, w.Path, s, got)
		}
	}
}

// parseMode reads an octal mode such as "0644" or "1777"; def when empty.
func parseMode(t *testing.T, s string, def os.FileMode) os.FileMode {
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		t.Fatalf("mode %q: %v", s, err)
	}
	m := os.FileMode(v & 0o777)
	for bit, flag := range map[uint64]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if v&bit != 0 {
			m |= flag
		}
	}
	return m
}

func writeArchive(t *testing.T, file string, files map[string]string) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		w, err := zw.Create("wso2esb-4.9.0/" + name)
		if err == nil {
			_, err = w.Write([]byte(files[name]))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeLocal(t, file, buf.Bytes())
}

// writeJDK writes a JDK archive: a gzip-compressed tar of files below
// the top directory "jdk8u392".
func writeJDK(t *testing.T, file string, files map[string]string) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		mode := int64(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		err := tw.WriteHeader(&tar.Header{Name: "jdk8u392/" + name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg})
		if err == nil {
			_, err = tw.Write([]byte(files[name]))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		t.Fatal(err)
	}
	writeLocal(t, file, buf.Bytes())
}

func writeLocal(t *testing.T, file string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fileSHA256(t *testing.T, file string) string {
	sum, err := inventory.FileSHA256(file)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
