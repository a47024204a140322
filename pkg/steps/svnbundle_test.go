package steps

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// TestSVNClientBundleSteps checks where each playbook with the svn method
// installs the inventory's SVN client bundle (the dropins) and trilead-ssh2
// (the libraries), only with method svn, and that the stock carbon.xml of
// each product defaults RepositoryType to svn (the BPS and EI playbooks do
// not set it) while shipping the synchroniser disabled.
func TestSVNClientBundleSteps(t *testing.T) {
	tests := []struct {
		playbook, sample, carbonXML, dropins, lib string
		product                                   string // the sample's [products.KEY] of the playbook
	}{
		{"esb-worker-manager", "esb-lab.toml", "esb-4.9.0/repository/conf/carbon.xml", "repository/components/dropins", "repository/components/lib", ""},
		{"bps-master-slave", "bps-lab.toml", "bps-3.6.0/repository/conf/carbon.xml", "repository/components/dropins", "repository/components/lib", ""},
		{"as-master-slave", "as-greg-lab.toml", "as-5.3.0/repository/conf/carbon.xml", "repository/components/dropins", "repository/components/lib", "as"},
		{"ei-business-process", "ei-bp-lab.toml", "ei-6.3.0/wso2/business-process/conf/carbon.xml", "dropins", "lib", ""},
	}
	svn := engine.DepSyncVars{Method: "svn", ClientBundle: "/dist/svnkit-all-1.8.7.wso2v1.jar", ClientBundleSHA256: strings.Repeat("a", 64),
		SSHBundle: "/dist/trilead-ssh2-1.0.0-build215.jar", SSHBundleSHA256: strings.Repeat("b", 64)}
	for _, tt := range tests {
		t.Run(tt.playbook, func(t *testing.T) {
			pb := loadBuiltin(t, tt.playbook)
			base := sampleVars(t, tt.sample, tt.product, nil)
			for _, c := range []struct {
				ds   engine.DepSyncVars
				want map[string]string // step -> dest; absent = skipped
			}{
				{svn, map[string]string{"svn-client-bundle": tt.dropins + "/svnkit-all-1.8.7.wso2v1.jar", "svn-ssh-bundle": tt.lib + "/trilead-ssh2-1.0.0-build215.jar"}},
				{engine.DepSyncVars{Method: "svn", ClientBundle: svn.ClientBundle, ClientBundleSHA256: svn.ClientBundleSHA256}, map[string]string{"svn-client-bundle": tt.dropins + "/svnkit-all-1.8.7.wso2v1.jar"}},
				{engine.DepSyncVars{Method: "rsync"}, map[string]string{}},
			} {
				v := base.ForNode(base.Nodes[len(base.Nodes)-1])
				v.DepSync = c.ds
				got := map[string]string{}
				for _, s := range bundleSteps(pb) {
					if ok, err := v.When(s.Name, s.When); err != nil || !ok {
						continue
					}
					dest, err := v.Render(s.Name, s.Kind.(*Copy).Dest)
					if err != nil {
						t.Fatal(err)
					}
					if sum, _ := v.Render(s.Name, s.Kind.(*Copy).SHA256); sum == "" {
						t.Errorf("%s: no sha256 to check", s.Name)
					}
					got[s.Name] = dest
				}
				if len(got) != len(c.want) {
					t.Errorf("method %s: steps %v, want %v", c.ds.Method, got, c.want)
				}
				for k, w := range c.want {
					if got[k] != w {
						t.Errorf("method %s: %s installs to %q, want %q", c.ds.Method, k, got[k], w)
					}
				}
			}
			if len(pb.DepSync.SVNEmpty) != 1 || !strings.HasSuffix(pb.DepSync.SVNEmpty[0], "repository/deployment/server") {
				t.Errorf("svn_empty %v: want the deployment directory", pb.DepSync.SVNEmpty)
			}
			doc, err := os.ReadFile(filepath.Join(corpusDir(t), tt.carbonXML))
			if err != nil {
				t.Fatal(err)
			}
			for el, want := range map[string]string{"Enabled": "false", "RepositoryType": "svn"} {
				if got, ok, err := xmlpatch.Get(doc, "/Server/DeploymentSynchronizer/"+el); err != nil || !ok || got != want {
					t.Errorf("stock %s DeploymentSynchronizer/%s = %q (%v %v), want %q", tt.carbonXML, el, got, ok, err, want)
				}
			}
		})
	}
}

// bundleSteps are the playbook's copy steps of the SVN client.
func bundleSteps(pb *playbook.Playbook) []playbook.Step {
	var out []playbook.Step
	for _, s := range pb.Steps {
		if s.Type == "copy" && strings.HasPrefix(s.Name, "svn-") {
			out = append(out, s)
		}
	}
	return out
}

func TestCopyChecksSHA256(t *testing.T) {
	v := testVars(false)
	n := &engine.Node{Vars: v.ForNode(v.Nodes[0])}
	data := []byte("jar")
	const sum = "0163f1eea7894350060624d315234d40c508ab251ba121714e234503045faadd"
	for _, tt := range []struct {
		sha  string
		want string // "" = accepted
	}{
		{"", ""},
		{sum, ""},
		{strings.ToUpper(sum), ""},
		{strings.Repeat("0", 64), "/dist/x.jar on the control machine has sha256 " + sum + ", not " + strings.Repeat("0", 64)},
	} {
		err := checkSHA256(playbook.Step{Name: "svn-client-bundle"}, &Copy{SHA256: tt.sha}, n, "/dist/x.jar", data)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("sha256 %q: error %v, want %q", tt.sha, err, tt.want)
		}
	}
}

// TestSVNPrefetch checks what the svn method adds to the batch read: the
// seed marker and deployment directory of the workers, the bundles'
// destinations; without svn, nothing of it (no dropins path is read).
func TestSVNPrefetch(t *testing.T) {
	e := lbEngine(t, "")
	home := e.Targets[1].Vars.Node.Home
	svnPaths := []string{home + "/.carbonctl/depsync-svn-seeded", home + "/repository/components/dropins/svnkit.jar", home + "/repository/components/lib/trilead.jar"}
	has := func(req remote.GatherRequest, p string) bool {
		return slices.Contains(req.Contents, p) || slices.Contains(req.Stats, p)
	}
	for _, svn := range []bool{false, true} {
		if svn {
			e.Inv.DepSync.Method = depsync.MethodSVN
			e.Vars.DepSync = engine.DepSyncVars{Method: "svn", ClientBundle: "/d/svnkit.jar", SSHBundle: "/d/trilead.jar"}
			e.Vars.Nodes = engine.NewVars(e.Inv, e.PB).Nodes
		}
		for i, n := range e.Targets {
			n.Vars = e.Vars.ForNode(e.Vars.Nodes[i])
		}
		worker := e.Prefetch()[e.Targets[1].Host]
		for _, p := range svnPaths {
			if has(worker, p) != svn {
				t.Errorf("svn %v: the worker's batch read has %s: %v", svn, p, !svn)
			}
		}
		if !svn && slices.ContainsFunc(worker.Contents, func(p string) bool { return strings.Contains(p, "/dropins") }) {
			t.Errorf("without svn the batch read names the dropins: %v", worker.Contents)
		}
		if dir := home + "/repository/deployment/server"; svn && !has(worker, dir) {
			t.Errorf("svn: the worker's batch read lacks %s", dir)
		}
		if manager := e.Prefetch()[e.Targets[0].Host]; has(manager, svnPaths[0]) {
			t.Errorf("the manager's batch read has the svn seed marker")
		}
	}
}
