package remote

import (
	"os"
	"testing"
)

// SSHDForTest is the test sshd for tests of package remote_test (which may
// import packages that import remote, such as remotetest): it dials login
// and returns the client, a fresh directory every test user may enter,
// and the name of a user with NOPASSWD sudo. It skips where no sshd can
// run.
func SSHDForTest(t *testing.T, login string) (c *Client, dir, sudoUser string) {
	env := needSSHD(t)
	if login == "" {
		login = env.user
	}
	dir, err := os.MkdirTemp(env.dir, "fake-compare-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return env.dial(t, login), dir, env.user
}

// UserName and GroupName name a local uid and gid as ls does.
var (
	UserName  = userName
	GroupName = groupName
)
