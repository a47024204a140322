package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// Files of the rsync deployment sync in the lab (see pkg/depsync).
const (
	syncDir      = home + "/.carbonctl/depsync"
	syncKey      = syncDir + "/id_ed25519"
	syncScript   = syncDir + "/sync.sh"
	receiver     = "/usr/local/libexec/carbonctl/depsync-receive"
	deployDir    = home + "/repository/deployment/server"
	authKeys     = "/home/wso2/.ssh/authorized_keys"
	cronSpool    = "/var/spool/cron/crontabs/wso2"
	seededMarker = home + "/.carbonctl/depsync-seeded"
	// syncWithin bounds how long an artifact may take to reach the workers:
	// the every-minute schedule, plus cron's own start-of-minute delay and
	// the transfer.
	syncWithin = 150 * time.Second
)

// withDepSync adds a [depsync] table to the lab inventory.
func withDepSync(table string) func(string) string {
	return func(s string) string {
		return strings.Replace(s, "\n[[node]]", "\n"+table+"\n[[node]]", 1)
	}
}

func TestDeploymentSync(t *testing.T) {
	e := newEnv(t)
	inv := e.writeInventory("depsync.toml", withDepSync("[depsync]\nmethod = \"rsync\"\nschedule = \"* * * * *\"\n"))
	mgr, wrk1 := e.lab.Hosts["n1"], e.lab.Hosts["n2"]

	t.Run("plan shows the key, the restricted entry, the script and the crontab", func(t *testing.T) {
		r := e.carbonctl("plan", inv)
		if r.code != 0 {
			t.Fatalf("plan exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{
			"generate the deployment-sync key pair " + syncKey + " (ed25519, on mgr1, for wso2)",
			"install " + receiver,
			`+from="` + mgr + `",command="` + receiver + " " + deployDir + " " + home + `/repository/tenants",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-user-rc ssh-ed25519`,
			"write " + syncScript, "+dirs='repository/deployment/server repository/tenants'",
			"write " + syncDir + "/nodes", "+wrk1 " + wrk1 + " 22 " + home,
			"install crontab of wso2 (+3 -0)", "+* * * * * " + syncScript + " >/dev/null 2>&1",
			"empty " + deployDir + " once, before the first sync from mgr1",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("plan output lacks %q", want)
			}
		}
		if t.Failed() {
			t.Logf("plan output:\n%s", r.out)
		}
	})

	t.Run("up sets up the sync on the hosts", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		if !regexp.MustCompile(`first sync from mgr1: repository/deployment/server: ok, \d+ sent`).MatchString(r.out) {
			t.Errorf("up did not run the first sync:\n%s", r.out)
		}
		e.assertSyncSetup(t)
	})

	t.Run("an artifact and its removal reach both workers within the schedule", func(t *testing.T) {
		name := fmt.Sprintf("carbonapps/depsync-e2e-%d.car", time.Now().UnixNano())
		began := time.Now()
		e.asWso2("n1", fmt.Sprintf("printf 'artifact %s' > %s/%s", name, deployDir, name))
		e.waitOnWorkers(t, "the artifact to arrive", "cat "+deployDir+"/"+name, "artifact "+name)
		t.Logf("artifact on both workers after %s", time.Since(began).Round(time.Second))
		began = time.Now()
		e.asWso2("n1", "rm "+deployDir+"/"+name)
		e.waitOnWorkers(t, "the artifact to disappear", "test -e "+deployDir+"/"+name+" && echo present || echo gone", "gone")
		t.Logf("removal on both workers after %s", time.Since(began).Round(time.Second))
	})

	t.Run("the key cannot open a shell or read other directories", func(t *testing.T) {
		sshAs := func(args string) (string, error) {
			return e.try("n1", "runuser", "-u", "wso2", "--", "sh", "-c",
				"ssh -F /dev/null -i "+syncKey+" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+syncDir+"/known_hosts "+args+" 2>&1 </dev/null")
		}
		for _, cmd := range []string{"wso2@" + wrk1 + " id", "-T wso2@" + wrk1, "wso2@" + wrk1 + " rsync --server --sender -logDtpre.iLsfxCIvu . /home/wso2/.ssh/"} {
			out, err := sshAs(cmd)
			if err == nil || strings.Contains(out, "uid=") || !strings.Contains(out, "carbonctl depsync receiver: refused") {
				t.Errorf("ssh %s: err %v, want refused by the receiver:\n%s", cmd, err, out)
			}
		}
	})

	t.Run("the key cannot be used from another address", func(t *testing.T) {
		key := e.exec("n1", "cat", syncKey)
		probe := fmt.Sprintf("stolen-key-%d", time.Now().UnixNano())
		for _, h := range []string{"n1", "n3"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := e.lab.Exec(ctx, h, []byte(key), "sh", "-c", "umask 077; cat > /root/stolen_depsync_key; echo x > /tmp/"+probe)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		ssh := "ssh -F /dev/null -i /root/stolen_depsync_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
		push := "rsync -rlt -e '" + ssh + "' /tmp/" + probe + " wso2@" + wrk1 + ":" + deployDir + "/"
		arrived := func() bool {
			return strings.Contains(e.exec("n2", "sh", "-c", "test -e "+deployDir+"/"+probe+" && echo present || echo absent"), "present")
		}
		for _, cmd := range []string{ssh + " wso2@" + wrk1 + " id", push} {
			out, err := e.try("n3", "sh", "-c", cmd+" 2>&1 </dev/null")
			if err == nil || !strings.Contains(out, "Permission denied") || strings.Contains(out, "uid=") {
				t.Errorf("from n3: %s: err %v, want Permission denied:\n%s", cmd, err, out)
			}
		}
		if arrived() {
			t.Fatalf("a file pushed from n3 with the stolen key arrived")
		}
		// Control: the very same key and command from the manager's address work.
		if out, err := e.try("n1", "sh", "-c", push+" 2>&1 </dev/null"); err != nil || !arrived() {
			t.Fatalf("the same push from n1 failed (so n3's refusal proves nothing): %v\n%s", err, out)
		}
		e.exec("n2", "rm", "-f", deployDir+"/"+probe)
	})

	t.Run("second up leaves crontab, keys, script and authorized_keys byte-identical", func(t *testing.T) {
		before := e.syncSnapshot()
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
		if after := e.syncSnapshot(); after != before {
			t.Fatalf("second up touched the sync's files:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if n := strings.Count(e.exec("n1", "crontab", "-l", "-u", "wso2"), syncScript); n != 1 {
			t.Fatalf("%d cron entries, want 1", n)
		}
		if p := e.carbonctl("plan", inv); p.code != 0 || !strings.Contains(p.out, "\n0 to change, ok") {
			t.Fatalf("plan on the converged lab: exit %d:\n%s", p.code, p.out)
		}
	})

	t.Run("carbonctl sync runs one sync now and reports it", func(t *testing.T) {
		e.awayFromMinuteStart(t)
		name := fmt.Sprintf("carbonapps/sync-now-%d.car", time.Now().UnixNano())
		e.asWso2("n1", fmt.Sprintf("printf x > %s/%s", deployDir, name))
		r := e.carbonctl("sync", inv)
		if r.code != 0 {
			t.Fatalf("sync exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{"SYNC from mgr1 (" + mgr + ")", "wrk1 repository/deployment/server: ok, 1 sent, 0 deleted",
			"wrk2 repository/deployment/server: ok, 1 sent, 0 deleted", "wrk2: <f+++++++++ " + name, "sync ok in"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("sync output lacks %q:\n%s", want, r.out)
			}
		}
		for _, h := range []string{"n2", "n3"} {
			if out := e.exec(h, "cat", deployDir+"/"+name); out != "x" {
				t.Errorf("%s: %q after carbonctl sync", h, out)
			}
		}
		e.asWso2("n1", "rm "+deployDir+"/"+name)
	})

	t.Run("svn method patches carbon.xml and masks the password", func(t *testing.T) {
		const password = "svn-s3cret&<pw>"
		pwFile := filepath.Join(e.dir, "svn-password")
		if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		table := fmt.Sprintf("[depsync]\nmethod = \"svn\"\nurl = \"https://svn.example.com/repos/esb/\"\nuser = \"svnuser\"\npassword_file = %q\n%s", pwFile, e.svnBundles(t))
		otherSum := regexp.MustCompile(`client_bundle_sha256 = "[0-9a-f]{64}"`).ReplaceAllString(table, `client_bundle_sha256 = "`+strings.Repeat("0", 64)+`"`)
		bad := e.writeInventory("svn-bad.toml", withDepSync(otherSum))
		if r := e.carbonctl("up", bad); r.code != 2 || !regexp.MustCompile(`svn-bad\.toml:\d+: depsync\.client_bundle_sha256: \S+/svnkit-all-1\.8\.7\.wso2v1\.jar has sha256 `).MatchString(r.out) {
			t.Fatalf("a bundle with another sha256: exit %d, want 2 naming the key:\n%s", r.code, r.out)
		}
		e.asWso2("n2", "echo stale >"+deployDir+"/stale.xml")
		e.asWso2("n1", "echo mine >"+deployDir+"/mine.xml")
		svn := e.writeInventory("svn.toml", withDepSync(table))
		p := e.carbonctl("plan", svn)
		if p.code != 0 || !strings.Contains(p.out, "+        <SvnPassword>********</SvnPassword>") || strings.Contains(p.out, "s3cret") {
			t.Fatalf("plan with svn: exit %d, want the password masked in the diff:\n%s", p.code, p.out)
		}
		r := e.carbonctl("up", svn)
		if r.code != 0 || strings.Contains(r.out, "s3cret") {
			t.Fatalf("up with svn: exit %d:\n%s", r.code, r.out)
		}
		e.assertSVNReady(t, r.out)
		for _, n := range labNodes {
			conf := []byte(e.exec(n.host, "cat", home+"/repository/conf/carbon.xml"))
			want := map[string]string{"Enabled": "true", "AutoCommit": strconv.FormatBool(n.name == "mgr1"), "AutoCheckout": "true", "RepositoryType": "svn",
				"SvnUrl": "https://svn.example.com/repos/esb/", "SvnUser": "svnuser", "SvnPassword": password, "SvnUrlAppendTenantId": "true"}
			for el, w := range want {
				if got, ok, err := xmlpatch.Get(conf, "/Server/DeploymentSynchronizer/"+el); err != nil || !ok || got != w {
					t.Errorf("%s: DeploymentSynchronizer/%s = %q (%v, %v), want %q", n.name, el, got, ok, err, w)
				}
			}
		}
	})
}

// svnBundles returns the [depsync] keys naming the SVN client stand-ins
// that mkdist builds (SVNKit for the dropins, trilead-ssh2 for lib) with
// their sha256.
func (e *env) svnBundles(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, j := range [][2]string{{"client_bundle", "svnkit-all-1.8.7.wso2v1.jar"}, {"ssh_bundle", "trilead-ssh2-1.0.0-build215.jar"}} {
		key, name := j[0], j[1]
		data, err := os.ReadFile(filepath.Join(e.dist, name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s = %q\n%s_sha256 = \"%x\"\n", key, filepath.Join(e.dist, name), key, sha256.Sum256(data))
	}
	return b.String()
}

// assertSVNReady checks what an SVN-synchronised cluster needs beyond
// carbon.xml: the client bundle in every node's dropins (and trilead-ssh2
// in lib), each node's synchroniser finding it at start-up, the workers'
// deployment directory emptied once before the checkout and the manager's
// kept; a second up changes nothing and empties nothing again.
func (e *env) assertSVNReady(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		"install " + home + "/repository/components/dropins/svnkit-all-1.8.7.wso2v1.jar",
		"install " + home + "/repository/components/lib/trilead-ssh2-1.0.0-build215.jar",
		"empty " + deployDir + " once, before the first SVN checkout fills it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q", want)
		}
	}
	jar := "svnkit-all-1.8.7.wso2v1.jar"
	want, _ := os.ReadFile(filepath.Join(e.dist, jar))
	for _, n := range labNodes {
		if got := e.exec(n.host, "cat", home+"/repository/components/dropins/"+jar); got != string(want) {
			t.Errorf("%s: dropins/%s differs from the inventory's bundle", n.name, jar)
		}
		log := e.exec(n.host, "cat", home+"/repository/logs/wso2carbon.log")
		last := log[strings.LastIndex(log, "Starting WSO2 Carbon"):]
		if !strings.Contains(last, "SVN based deployment synchronizer initialized with the SVN client of "+home+"/repository/components/dropins/"+jar) || strings.Contains(last, " ERROR ") {
			t.Errorf("%s: the synchroniser did not find its client:\n%s", n.name, last)
		}
		marker := e.exec(n.host, "sh", "-c", "cat "+home+"/.carbonctl/depsync-svn-seeded 2>/dev/null || echo none")
		if (n.name == "mgr1") != (marker == "none\n") {
			t.Errorf("%s: SVN seed marker %q", n.name, marker)
		}
	}
	if ls := e.exec("n2", "ls", "-A", deployDir); strings.Contains(ls, "stale.xml") {
		t.Errorf("wrk1's deployment directory was not emptied before the checkout: %s", ls)
	}
	if ls := e.exec("n1", "ls", "-A", deployDir); !strings.Contains(ls, "mine.xml") {
		t.Errorf("the manager's deployment directory was emptied: %s", ls)
	}
	e.asWso2("n2", "echo checked-out >"+deployDir+"/later.xml")
	if r := e.carbonctl("up", filepath.Join(e.dir, "svn.toml")); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
		t.Errorf("second up with svn: exit %d, want 0 changed:\n%s", r.code, r.out)
	}
	if ls := e.exec("n2", "ls", "-A", deployDir); !strings.Contains(ls, "later.xml") {
		t.Errorf("the second up emptied wrk1's deployment directory again: %s", ls)
	}
}

// assertSyncSetup checks the converged sync on the hosts themselves.
func (e *env) assertSyncSetup(t *testing.T) {
	t.Helper()
	mgr := e.lab.Hosts["n1"]
	cron := e.exec("n1", "crontab", "-l", "-u", "wso2")
	want := "# BEGIN carbonctl deployment sync (cluster esb-e2e)\n* * * * * " + syncScript + " >/dev/null 2>&1\n# END carbonctl deployment sync (cluster esb-e2e)\n"
	if cron != want {
		t.Errorf("crontab of wso2 on n1:\n%s\nwant:\n%s", cron, want)
	}
	pub := strings.Fields(e.exec("n1", "cat", syncKey+".pub"))
	if len(pub) < 2 || pub[0] != "ssh-ed25519" {
		t.Fatalf("no ed25519 public key on n1: %q", pub)
	}
	if mode := e.exec("n1", "stat", "-c", "%a %U", syncKey, syncScript); mode != "600 wso2\n755 wso2\n" {
		t.Errorf("key and script modes/owners: %q", mode)
	}
	known := e.exec("n1", "cat", syncDir+"/known_hosts")
	for _, h := range []string{"n2", "n3"} {
		hostKey := strings.Fields(e.exec(h, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"))
		if !strings.Contains(known, e.lab.Hosts[h]+" ssh-ed25519 "+hostKey[1]+"\n") {
			t.Errorf("known_hosts on n1 does not pin %s's host key:\n%s", h, known)
		}
		keys := e.exec(h, "cat", authKeys)
		entry := `from="` + mgr + `",command="` + receiver + " " + deployDir + " " + home + `/repository/tenants",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-user-rc ssh-ed25519 ` + pub[1]
		if strings.Count(keys, pub[1]) != 1 || !strings.Contains(keys, entry) {
			t.Errorf("%s authorized_keys lacks the restricted entry:\n%s", h, keys)
		}
		e.exec(h, "test", "-f", seededMarker)
	}
}

// syncSnapshot records content hashes, inodes and mtimes of the sync's files.
func (e *env) syncSnapshot() string {
	files := map[string][]string{
		"n1": {syncKey, syncKey + ".pub", syncScript, syncDir + "/nodes", syncDir + "/known_hosts", cronSpool},
		"n2": {authKeys, receiver, seededMarker},
		"n3": {authKeys, receiver, seededMarker},
	}
	var b strings.Builder
	for _, h := range []string{"n1", "n2", "n3"} {
		fmt.Fprintf(&b, "%s:\n%s%s", h, e.exec(h, append([]string{"sha256sum"}, files[h]...)...),
			e.exec(h, append([]string{"stat", "-c", "%n %i %s %Y %a %U"}, files[h]...)...))
	}
	return b.String()
}

// asWso2 runs a shell command as the product user on host.
func (e *env) asWso2(host, cmd string) string {
	e.t.Helper()
	return e.exec(host, "runuser", "-u", "wso2", "--", "sh", "-c", cmd)
}

// try runs cmd on host and returns its output and error (non-zero exit).
func (e *env) try(host string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := e.lab.Exec(ctx, host, nil, cmd...)
	if err != nil {
		return string(out) + err.Error(), err
	}
	return string(out), nil
}

// waitOnWorkers polls both workers until cmd prints want, for at most syncWithin.
func (e *env) waitOnWorkers(t *testing.T, what, cmd, want string) {
	t.Helper()
	deadline := time.Now().Add(syncWithin)
	for _, h := range []string{"n2", "n3"} {
		for {
			out, _ := e.try(h, "sh", "-c", cmd+" 2>/dev/null")
			if strings.TrimSpace(out) == want {
				break
			}
			if time.Now().After(deadline) {
				log, _ := e.try("n1", "tail", "-n", "20", syncDir+"/sync.log")
				t.Fatalf("%s: waited %s for %s; last output %q; sync log on n1:\n%s", h, syncWithin, what, out, log)
			}
			time.Sleep(3 * time.Second)
		}
	}
}

// awayFromMinuteStart waits until cron's every-minute sync is well past,
// so that a sync run now is the one that transfers what was just dropped.
func (e *env) awayFromMinuteStart(t *testing.T) {
	for {
		sec, err := strconv.Atoi(strings.TrimSpace(e.exec("n1", "date", "+%S")))
		if err != nil {
			t.Fatal(err)
		}
		if sec >= 8 && sec <= 45 {
			return
		}
		time.Sleep(2 * time.Second)
	}
}
