package steps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/textdiff"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// depSyncStep returns the playbook's carbon.xml deployment-synchronizer step.
func depSyncStep(t *testing.T) playbook.Step {
	for _, s := range builtin(t).Steps {
		if s.Name == "deployment-synchronizer" {
			return s
		}
	}
	t.Fatal("the playbook has no deployment-synchronizer step")
	return playbook.Step{}
}

// carbonXMLFiles are the fixture's carbon.xml and, when the stock corpus is
// there, every product's.
func carbonXMLFiles(t *testing.T) []string {
	files := []string{filepath.Join("..", "..", "fixtures", "product", "esb-4.9.0", "repository", "conf", "carbon.xml")}
	dir := os.Getenv("CARBONCTL_WSO2_CONF")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
	}
	stock, _ := filepath.Glob(filepath.Join(dir, "*", "repository", "conf", "carbon.xml"))
	if len(stock) == 0 {
		t.Logf("stock corpus not found at %s: only the fixture's carbon.xml is patched", dir)
	}
	return append(files, stock...)
}

func TestDeploymentSynchronizerStep(t *testing.T) {
	step := depSyncStep(t)
	const dsPath = "/Server/DeploymentSynchronizer/"
	for _, file := range carbonXMLFiles(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, nv := range testVars(false).Nodes[:2] {
			v := testVars(false).ForNode(nv)
			v.DepSync = engine.DepSyncVars{Method: "svn", SvnURL: "https://svn.example.com/repos/esb/", SvnUser: "svnuser", SvnPassword: "p&ss<w>rd", SvnAppendTenantID: false}
			got := applyStep(t, step, v, src)
			want := map[string]string{
				"Enabled": "true", "AutoCommit": map[bool]string{true: "true", false: "false"}[nv.IsManager], "AutoCheckout": "true",
				"RepositoryType": "svn", "SvnUrl": "https://svn.example.com/repos/esb/", "SvnUser": "svnuser",
				"SvnPassword": "p&ss<w>rd", "SvnUrlAppendTenantId": "false",
			}
			for el, w := range want {
				if val, ok, err := xmlpatch.Get(got, dsPath+el); err != nil || !ok || val != w {
					t.Errorf("%s (%s): %s = %q (found %v, %v), want %q", file, nv.Name, el, val, ok, err, w)
				}
			}
			if n, _ := xmlpatch.Count(got, "/Server/DeploymentSynchronizer"); n != 1 {
				t.Errorf("%s: %d live DeploymentSynchronizer elements after patching", file, n)
			}
		}
		v := testVars(false).ForNode(testVars(false).Nodes[1])
		v.DepSync = engine.DepSyncVars{Method: "rsync"}
		if val, _, _ := xmlpatch.Get(applyStep(t, step, v, src), dsPath+"Enabled"); val != "false" {
			t.Errorf("%s: with rsync the SVN synchroniser stays enabled (%q)", file, val)
		}
		v.DepSync = engine.DepSyncVars{Method: "none"}
		if ok, _ := v.When(step.Name, step.When); ok {
			t.Errorf("the step applies with method none")
		}
	}
}

// applyStep applies one xml step to src, checking that a second application
// changes nothing and that only edited lines changed.
func applyStep(t *testing.T, s playbook.Step, v engine.Vars, src []byte) []byte {
	t.Helper()
	ops, err := renderEdits((&engine.Engine{}), s, fileEditsOf(t, s), &engine.Node{Vars: v})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := xmlpatch.Patch(src, ops)
	if err != nil {
		t.Fatal(err)
	}
	if _, again, err := xmlpatch.Patch(got, ops); err != nil || again {
		t.Errorf("second application is not a no-op (changed=%v, err=%v)", again, err)
	}
	if _, removed := textdiff.Stat(src, got); removed > len(ops) {
		t.Errorf("%d original lines changed for %d edits", removed, len(ops))
	}
	return got
}

func TestPasswdHome(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\nwso2:x:999:999::/home/wso2:/bin/bash\nesb:x:998:998::/opt/esb:/bin/sh\nnew:x:::::\n")
	for user, want := range map[string]string{"wso2": "/home/wso2", "esb": "/opt/esb", "new": "", "nobody": "", "wso": ""} {
		if got := passwdHome(passwd, user); got != want {
			t.Errorf("passwdHome(%s) = %q, want %q", user, got, want)
		}
	}
}

func TestSeedScript(t *testing.T) {
	home := t.TempDir()
	dep := filepath.Join(home, "repository", "deployment", "server")
	for _, f := range []string{"carbonapps/a.car", ".hidden", "synapse-configs/default/synapse.xml"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dep, f)), 0o755)
		os.WriteFile(filepath.Join(dep, f), []byte("x"), 0o644)
	}
	marker := filepath.Join(home, ".carbonctl", "depsync-seeded")
	out, err := exec.Command("sh", "-c", seedScript([]string{dep}, marker, "emptied it\n")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	left, _ := os.ReadDir(dep)
	if len(left) != 0 {
		t.Errorf("%d entries left in the emptied directory", len(left))
	}
	if st, err := os.Stat(dep); err != nil || !st.IsDir() {
		t.Errorf("the directory itself was removed: %v", err)
	}
	if m, _ := os.ReadFile(marker); string(m) != "emptied it\n" {
		t.Errorf("marker = %q", m)
	}
}

func TestKeygenScript(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("SKIPPED: ssh-keygen is not installed")
	}
	key := filepath.Join(t.TempDir(), "depsync", "id_ed25519")
	run := func() string {
		out, err := exec.Command("sh", "-c", keygenScript(key, "carbonctl-depsync@c1")).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	first := run()
	if !strings.HasPrefix(first, "ssh-ed25519 ") || !strings.HasSuffix(strings.TrimSpace(first), " carbonctl-depsync@c1") {
		t.Fatalf("public key %q", first)
	}
	if st, _ := os.Stat(key); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st)
	}
	if st, _ := os.Stat(filepath.Dir(key)); st == nil || st.Mode().Perm() != 0o755 {
		t.Errorf("key directory mode %v, want 0755 (carbonctl reads the public key unprivileged)", st)
	}
	if again := run(); again != first {
		t.Errorf("a second run replaced the key")
	}
	os.Remove(key + ".pub")
	if again := run(); again == first {
		t.Errorf("a half-missing key pair was not regenerated")
	}
}
