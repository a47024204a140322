package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/depsync"
)

// DepSync is the optional [depsync] table: how artifacts deployed on the
// manager reach the other nodes.
type DepSync struct {
	// Method is "none" (the default: carbonctl leaves deployment
	// synchronisation alone), "rsync" (a cron job on the manager pushes
	// the directories to every other node over SSH) or "svn" (Carbon's
	// SVN-based Deployment Synchronizer, configured in carbon.xml) or
	// "registry" (Carbon's registry-based Deployment Synchronizer, for
	// playbooks that configure it, e.g. as-master-slave).
	Method string
	// Schedule (rsync) is the cron expression of the sync; default every
	// minute.
	Schedule string
	// Directories (rsync) are relative to CARBON_HOME, cleaned, without a
	// trailing slash; nil means the playbook's defaults.
	Directories []string
	// SvnURL, SvnUser and SvnPassword (keys url, user, password_env |
	// password_file | password) reach the SVN repository.
	SvnURL, SvnUser string
	SvnPassword     Secret
	// SvnAppendTenantID (key append_tenant_id, default true, as in the
	// stock carbon.xml) makes Carbon append the tenant id to the URL.
	SvnAppendTenantID bool
	// ClientBundle (keys client_bundle, client_bundle_sha256; required
	// with svn) is the SVN client the guides put into the dropins
	// (SVNKit, e.g. svnkit-all-1.8.7.wso2v1.jar); SSHBundle (ssh_bundle,
	// ssh_bundle_sha256; optional) its trilead-ssh2 dependency, for the
	// guides that name it. Both are files on the control machine.
	ClientBundle, SSHBundle Jar
}

// Jar is a jar on the control machine with the sha256 it must have.
type Jar struct {
	Path   string // absolute; "" when not set
	SHA256 string // lower-case hex
}

// Keys of [depsync] that belong to one method.
var (
	rsyncKeys = []string{"schedule", "directories"}
	svnKeys   = []string{"url", "user", "password_env", "password_file", "password", "append_tenant_id",
		"client_bundle", "client_bundle_sha256", "ssh_bundle", "ssh_bundle_sha256"}
)

// depSync decodes [depsync]; an absent table means method "none".
func (d *decoder) depSync(t *table) DepSync {
	ds := DepSync{Method: t.str("method", depsync.MethodNone)}
	switch ds.Method {
	case depsync.MethodRsync:
		d.depSyncRsync(t, &ds)
		t.otherMethod(svnKeys, depsync.MethodSVN, ds.Method)
	case depsync.MethodSVN:
		d.depSyncSVN(t, &ds)
		t.otherMethod(rsyncKeys, depsync.MethodRsync, ds.Method)
	case depsync.MethodNone, depsync.MethodRegistry:
		t.otherMethod(rsyncKeys, depsync.MethodRsync, ds.Method)
		t.otherMethod(svnKeys, depsync.MethodSVN, ds.Method)
	default:
		t.errorf("method", "unknown method %q: write method = \"rsync\" (a cron job on the manager pushes the deployment directories over SSH), \"svn\" (Carbon's SVN deployment synchronizer), \"registry\" (Carbon's registry-based synchronizer, where the playbook configures it) or \"none\"", ds.Method)
		t.known = append(append(t.known, rsyncKeys...), svnKeys...)
	}
	t.finish()
	return ds
}

// otherMethod reports the keys of method `of` set while method is `is`.
func (t *table) otherMethod(keys []string, of, is string) {
	for _, k := range keys {
		if _, set := t.get(k); set {
			t.errorf(k, "is a setting of method = %q, but method is %q: remove it, or set method = %q", of, is, of)
		}
	}
}

// depSyncRsync decodes the rsync settings.
func (d *decoder) depSyncRsync(t *table, ds *DepSync) {
	ds.Schedule = t.str("schedule", depsync.DefaultSchedule)
	if err := depsync.ValidateSchedule(ds.Schedule); err != nil {
		t.errorf("schedule", "%v", err)
	}
	list, set, ok := t.strList("directories", `["repository/deployment/server/"]`)
	if !set || !ok {
		return
	}
	if len(list) == 0 {
		t.errorf("directories", "is empty: list at least one directory, e.g. directories = [\"repository/deployment/server/\"], or remove the key for the playbook's defaults")
		return
	}
	for _, raw := range list {
		clean, err := depsync.CheckDirectory(raw)
		if err != nil {
			t.errorf("directories", "%v", err)
			continue
		}
		ds.Directories = append(ds.Directories, clean)
	}
	if outer, inner, found := depsync.Overlap(ds.Directories); found {
		t.errorf("directories", "%q and %q overlap: list each directory once, and not one inside another", outer, inner)
	}
}

// depSyncSVN decodes the SVN settings.
func (d *decoder) depSyncSVN(t *table, ds *DepSync) {
	ds.SvnURL = t.required("url", `"https://svn.example.com/repos/esb/"`)
	ds.SvnUser = t.required("user", `"svnuser"`)
	ds.SvnPassword = t.secret("password")
	ds.SvnAppendTenantID = t.bool("append_tenant_id", true)
	ds.ClientBundle = d.jar(t, "client_bundle", true, "SVN client bundle", `"svnkit-all-1.8.7.wso2v1.jar"`)
	ds.SSHBundle = d.jar(t, "ssh_bundle", false, "trilead-ssh2 jar", `"trilead-ssh2-1.0.0-build215.jar"`)
	if ds.SvnURL == "" {
		return
	}
	u, err := url.Parse(ds.SvnURL)
	switch {
	case err != nil || u.Scheme == "":
		t.errorf("url", "%q is not a URL: write the repository's URL, e.g. url = \"https://svn.example.com/repos/esb/\"", ds.SvnURL)
	case !contains([]string{"http", "https", "svn", "svn+ssh", "file"}, strings.ToLower(u.Scheme)):
		t.errorf("url", "scheme %q is not one SVN speaks: use http, https, svn, svn+ssh or file", u.Scheme)
	case u.Host == "" && !strings.EqualFold(u.Scheme, "file"):
		t.errorf("url", "%q names no server: write e.g. url = \"https://svn.example.com/repos/esb/\"", ds.SvnURL)
	case u.User != nil:
		t.errorf("url", "carries a user name or password: put them in user and password_env instead, so the password stays out of the inventory")
	}
}

// strList returns the array of strings under key, whether it is set and
// whether it is an array of strings (the problem is recorded if not).
func (t *table) strList(key, example string) (list []string, set, ok bool) {
	v, set := t.get(key)
	if !set {
		return nil, false, false
	}
	items, isArray := v.([]any)
	if !isArray {
		t.errorf(key, "is %s, want an array of strings, e.g. %s = %s", describe(v), key, example)
		return nil, true, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, isStr := it.(string)
		if !isStr {
			t.errorf(key, "holds %s, want strings only, e.g. %s = %s", describe(it), key, example)
			return nil, true, false
		}
		out = append(out, s)
	}
	return out, true, true
}

// jar decodes key (a jar on the control machine) and key_sha256, and,
// when files are checked, that the file has that sha256. what names the
// file in messages, example is a file name.
func (d *decoder) jar(t *table, key string, required bool, what, example string) Jar {
	sumKey := key + "_sha256"
	var j Jar
	if required {
		j.Path = t.required(key, example)
	} else {
		j.Path = t.str(key, "")
	}
	j.SHA256 = strings.ToLower(t.str(sumKey, ""))
	switch {
	case j.Path == "":
		if _, set := t.get(sumKey); set && !required {
			t.errorf(sumKey, "is set without %s: name the jar too, or remove %s", key, sumKey)
		}
		return j
	case !strings.HasSuffix(j.Path, ".jar"):
		t.errorf(key, "%s is not a .jar file: point %s at the %s", j.Path, key, what)
	case !sha256Hex.MatchString(j.SHA256):
		t.errorf(key, "needs %s: write the jar's sha256 (64 hex digits, as sha256sum prints it), e.g. %s = \"…\", so that a wrong or corrupted download is refused", sumKey, sumKey)
	}
	j.Path = d.localFile(t, key, j.Path, what)
	if d.opts.CheckFiles && sha256Hex.MatchString(j.SHA256) {
		if sum, err := FileSHA256(j.Path); err == nil && sum != j.SHA256 {
			t.errorf(sumKey, "%s has sha256 %s, not %s: download the jar again, or fix %s", j.Path, sum, j.SHA256, sumKey)
		}
	}
	return j
}

// sha256Hex is a sha256 as sha256sum prints it.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FileSHA256 returns the hex sha256 of the file at p.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
