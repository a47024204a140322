package inventory

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// bundle is the svn method's client bundle: fixtureDir's driver.jar.
const bundle = "client_bundle = \"driver.jar\"\nclient_bundle_sha256 = \"0163f1eea7894350060624d315234d40c508ab251ba121714e234503045faadd\"\n"

// withDepSync is the default inventory with a [depsync] table.
func withDepSync(table string) string {
	p := defaultParts()
	p.lb = table // rendered between [database] and the nodes
	return p.doc()
}

func TestDepSyncSettings(t *testing.T) {
	dir := fixtureDir(t)
	const sha = "0163f1eea7894350060624d315234d40c508ab251ba121714e234503045faadd"
	tests := []struct {
		name, table string
		want        DepSync
	}{
		{"absent", "", DepSync{Method: "none"}},
		{"registry", "[depsync]\nmethod = \"registry\"\n", DepSync{Method: "registry"}},
		{"rsync defaults", "[depsync]\nmethod = \"rsync\"\n", DepSync{Method: "rsync", Schedule: "* * * * *"}},
		{"rsync settings", "[depsync]\nmethod = \"rsync\"\nschedule = \"*/2 * * * *\"\ndirectories = [\"repository/deployment/server/\", \"repository/tenants\"]\n",
			DepSync{Method: "rsync", Schedule: "*/2 * * * *", Directories: []string{"repository/deployment/server", "repository/tenants"}}},
		{"svn", "[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/repos/esb/\"\nuser = \"svnuser\"\npassword_env = \"APP_PW\"\nappend_tenant_id = false\n" + bundle +
			"ssh_bundle = \"sub/../driver.jar\"\nssh_bundle_sha256 = \"0163F1EEA7894350060624D315234D40C508AB251BA121714E234503045FAADD\"\n",
			DepSync{Method: "svn", SvnURL: "https://svn.example.com/repos/esb/", SvnUser: "svnuser", SvnPassword: Secret{Value: "app-secret", Source: "env:APP_PW"},
				ClientBundle: Jar{filepath.Join(dir, "driver.jar"), sha}, SSHBundle: Jar{filepath.Join(dir, "driver.jar"), sha}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := mustParse(t, dir, withDepSync(tt.table))
			if !reflect.DeepEqual(inv.DepSync, tt.want) {
				t.Fatalf("got %#v\nwant %#v", inv.DepSync, tt.want)
			}
		})
	}
	inv := mustParse(t, dir, withDepSync("[depsync]\nmethod = \"svn\"\nurl = \"svn://svn.example.com/esb\"\nuser = \"u\"\npassword_file = \"pw\"\n"+bundle))
	if !inv.DepSync.SvnAppendTenantID || inv.DepSync.SvnPassword.Value != "file-secret" {
		t.Errorf("svn defaults: %#v", inv.DepSync)
	}
	if got := inv.Secrets(); len(got) != 3 || got[2] != "file-secret" {
		t.Errorf("Secrets() = %d values; the SVN password must be masked", len(got))
	}
}

func TestDepSyncProblems(t *testing.T) {
	tests := []struct {
		name, table string
		wants       []want
	}{
		{"unknown method", "[depsync]\nmethod = \"nfs\" # here\nschedule = \"x\"\n",
			[]want{{"# here", "depsync.method", `unknown method "nfs"`}}},
		{"bad schedule", "[depsync]\nmethod = \"rsync\"\nschedule = \"*/5 * * *\" # here\n",
			[]want{{"# here", "depsync.schedule", "has 4 fields, want 5"}}},
		{"schedule out of range", "[depsync]\nmethod = \"rsync\"\nschedule = \"0 25 * * *\" # here\n",
			[]want{{"# here", "depsync.schedule", "25 is out of range 0-23"}}},
		{"absolute and parent directories", "[depsync]\nmethod = \"rsync\"\ndirectories = [\"/opt/x\", \"repository/../..\"] # here\n",
			[]want{{"# here", "depsync.directories", "is absolute"}, {"# here", "depsync.directories", `contains ".."`}}},
		{"overlapping directories", "[depsync]\nmethod = \"rsync\"\ndirectories = [\"repository/deployment\", \"repository/deployment/server/\"] # here\n",
			[]want{{"# here", "depsync.directories", "overlap"}}},
		{"empty directories", "[depsync]\nmethod = \"rsync\"\ndirectories = [] # here\n",
			[]want{{"# here", "depsync.directories", "is empty"}}},
		{"directories not strings", "[depsync]\nmethod = \"rsync\"\ndirectories = [1] # here\n",
			[]want{{"# here", "depsync.directories", "want strings only"}}},
		{"svn key with rsync", "[depsync]\nmethod = \"rsync\"\nurl = \"https://svn.example.com/\" # here\n",
			[]want{{"# here", "depsync.url", `is a setting of method = "svn", but method is "rsync"`}}},
		{"rsync key with registry", "[depsync]\nmethod = \"registry\"\ndirectories = [\"repository/deployment/server/\"] # here\n",
			[]want{{"# here", "depsync.directories", `is a setting of method = "rsync", but method is "registry"`}}},
		{"rsync key without method", "[depsync]\nschedule = \"* * * * *\" # here\n",
			[]want{{"# here", "depsync.schedule", `is a setting of method = "rsync", but method is "none"`}}},
		{"svn needs url, user, password and the client bundle", "[depsync] # here\nmethod = \"svn\"\n",
			[]want{{"# here", "depsync.url", "missing"}, {"# here", "depsync.user", "missing"}, {"# here", "depsync.password", "missing"}, {"# here", "depsync.client_bundle", "missing"}}},
		{"svn bundle without its sha256", "[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/\"\nuser = \"u\"\npassword_env = \"APP_PW\"\nclient_bundle = \"driver.jar\" # here\n",
			[]want{{"# here", "depsync.client_bundle", "needs client_bundle_sha256"}}},
		{"svn bundle with another sha256", "[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/\"\nuser = \"u\"\npassword_env = \"APP_PW\"\nclient_bundle = \"driver.jar\"\nclient_bundle_sha256 = \"" + strings.Repeat("ab", 32) + "\" # here\n",
			[]want{{"# here", "depsync.client_bundle_sha256", "driver.jar has sha256 0163f1ee"}}},
		{"svn bundle missing and not a jar", "[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/\"\nuser = \"u\"\npassword_env = \"APP_PW\"\n" + bundle + "ssh_bundle = \"nowhere.zip\" # here\n",
			[]want{{"# here", "depsync.ssh_bundle", "nowhere.zip is not a .jar file"}, {"# here", "depsync.ssh_bundle", "no such file"}}},
		{"svn bundle key with rsync", "[depsync]\nmethod = \"rsync\"\nclient_bundle = \"driver.jar\" # here\n",
			[]want{{"# here", "depsync.client_bundle", `is a setting of method = "svn"`}}},
		{"svn url with credentials", "[depsync]\nmethod = \"svn\"\nurl = \"https://me:pw@svn.example.com/\" # here\nuser = \"u\"\npassword_env = \"APP_PW\"\n" + bundle,
			[]want{{"# here", "depsync.url", "carries a user name or password"}}},
		{"svn url scheme", "[depsync]\nmethod = \"svn\"\nurl = \"ftp://svn.example.com/\" # here\nuser = \"u\"\npassword_env = \"APP_PW\"\n" + bundle,
			[]want{{"# here", "depsync.url", `scheme "ftp"`}}},
		{"typo", "[depsync]\nmethod = \"rsync\"\nschedul = \"* * * * *\" # here\n",
			[]want{{"# here", "depsync.schedul", `did you mean "schedule"?`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := withDepSync(tt.table)
			_, errs := parse(t, fixtureDir(t), doc)
			checkProblems(t, doc, errs, tt.wants)
		})
	}
	doc := withDepSync("[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/\"\nuser = \"u\"\n" + bundle + "password = \"inline\" # here\n")
	inv := mustParse(t, fixtureDir(t), doc)
	if len(inv.Warnings) != 1 || !contains(inv.Warnings, "inventory.toml:"+strconv.Itoa(lineOf(t, doc, "# here"))+": depsync.password: plain-text secret in the inventory: move it to an environment variable (password_env = \"VAR\") or a file (password_file = \"path\")") {
		t.Errorf("warnings: %q", inv.Warnings)
	}
}
