package remote

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeys checks server host keys against one OpenSSH known_hosts file and,
// if asked to, records the keys of hosts seen for the first time. One
// HostKeys serves a whole run: several hosts may connect in parallel, and
// its mutex serialises the reads and appends of the file.
type HostKeys struct {
	mu        sync.Mutex
	file      string
	acceptNew bool
	// probe is a throwaway key that no known_hosts line holds. Checking it
	// makes knownhosts list every key recorded for a host (KeyError.Want),
	// reusing knownhosts' own host matching (patterns, hashed names, ports).
	probe ssh.PublicKey
	// Log receives a line "recorded host key: HOST TYPE SHA256:…" for each
	// key recorded with acceptNew, so that the operator can compare the
	// fingerprints (as OpenSSH's "Permanently added" does); os.Stderr
	// unless changed.
	Log io.Writer
}

// NewHostKeys returns a HostKeys for the known_hosts file. With acceptNew,
// unknown hosts' keys are appended to the file (created 0600, its directory
// 0700, if missing); a changed key is refused either way.
func NewHostKeys(file string, acceptNew bool) (*HostKeys, error) {
	if file == "" {
		return nil, errors.New("a known_hosts file is required")
	}
	if _, err := os.Stat(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("known_hosts file: %w", err)
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generating probe key: %w", err)
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("generating probe key: %w", err)
	}
	return &HostKeys{file: file, acceptNew: acceptNew, probe: probe, Log: os.Stderr}, nil
}

// unknownHost is what a missing known_hosts file says about every host.
func unknownHost(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }

// load parses the known_hosts file. The caller holds k.mu.
func (k *HostKeys) load() (ssh.HostKeyCallback, error) {
	cb, err := knownhosts.New(k.file)
	if errors.Is(err, fs.ErrNotExist) {
		return unknownHost, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts %s: %w", k.file, err)
	}
	return cb, nil
}

// known returns the keys recorded for addr ("host:port").
func (k *HostKeys) known(addr string) ([]knownhosts.KnownKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cb, err := k.load()
	if err != nil {
		return nil, err
	}
	var keyErr *knownhosts.KeyError
	if err := cb(addr, &net.TCPAddr{}, k.probe); errors.As(err, &keyErr) {
		return keyErr.Want, nil
	}
	return nil, nil
}

// hostKeyAlgorithms returns the host key algorithms to ask addr for: those
// matching the key types recorded for it, so that a host known by its
// ed25519 key is not refused because the server would otherwise offer its
// ecdsa key first. nil (the library default) for hosts with no recorded key.
func (k *HostKeys) hostKeyAlgorithms(addr string) ([]string, error) {
	want, err := k.known(addr)
	if err != nil {
		return nil, err
	}
	supported := ssh.SupportedAlgorithms().HostKeys
	var algos []string
	for _, w := range want {
		for _, a := range algorithmsForKeyType(w.Key.Type()) {
			if slices.Contains(supported, a) && !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos, nil
}

// algorithmsForKeyType lists the signature algorithms a host key of the
// given type can use, best first.
func algorithmsForKeyType(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

// verdict keeps the host key check's error so that Dial can report it
// unwrapped. The check runs in the SSH library's handshake goroutine.
type verdict struct {
	mu  sync.Mutex
	err error
}

func (v *verdict) set(err error) { v.mu.Lock(); v.err = err; v.mu.Unlock() }

func (v *verdict) get() error { v.mu.Lock(); defer v.mu.Unlock(); return v.err }

// callback returns the HostKeyCallback for a Dial to addr, recording its
// result in v.
func (k *HostKeys) callback(addr string, v *verdict) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		err := k.check(addr, remote, key)
		v.set(err)
		return err
	}
}

// check verifies key for addr, recording it if addr is unknown and new keys
// are accepted.
func (k *HostKeys) check(addr string, remote net.Addr, key ssh.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cb, err := k.load()
	if err != nil {
		return err
	}
	err = cb(addr, remote, key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &revoked):
		return fmt.Errorf("host key of %s (%s) is marked @revoked at %s:%d; refusing",
			addr, describeKey(key), revoked.Revoked.Filename, revoked.Revoked.Line)
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		return mismatchError(addr, key, keyErr.Want)
	case errors.As(err, &keyErr):
		if !k.acceptNew {
			return fmt.Errorf("%s is not in known_hosts %s (server key %s); verify the fingerprint and add it, or re-run with --accept-new-host-keys",
				addr, k.file, describeKey(key))
		}
		return k.record(addr, key)
	default:
		return fmt.Errorf("checking host key of %s: %w", addr, err)
	}
}

// mismatchError describes a host whose key differs from the recorded one,
// naming the known_hosts lines to look at (those of the offered key type if
// any, else all of the host's lines).
func mismatchError(addr string, key ssh.PublicKey, want []knownhosts.KnownKey) error {
	var lines, sameType []string
	for _, w := range want {
		line := fmt.Sprintf("%s:%d", w.Filename, w.Line)
		lines = append(lines, line)
		if w.Key.Type() == key.Type() {
			sameType = append(sameType, line)
		}
	}
	if len(sameType) > 0 {
		lines = sameType
	}
	holds := lines[0] + " holds a different key"
	if len(lines) > 1 {
		holds = strings.Join(lines, ", ") + " hold different keys"
	}
	return fmt.Errorf("host key mismatch for %s: server offered %s, but %s; refusing (possible man-in-the-middle). If the host was reinstalled, remove the old line.",
		addr, describeKey(key), holds)
}

// record appends a known_hosts line for addr. The caller holds k.mu.
func (k *HostKeys) record(addr string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(k.file), 0o700); err != nil {
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}
	f, err := os.OpenFile(k.file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording host key of %s: %w", addr, err)
	}
	host := knownhosts.Normalize(addr)
	line := knownhosts.Line([]string{host}, key) + "\n"
	if !endsWithNewline(f) {
		line = "\n" + line
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("recording host key of %s in %s: %w", addr, k.file, err)
	}
	if k.Log != nil {
		fmt.Fprintf(k.Log, "recorded host key: %s %s (in %s)\n", host, describeKey(key), k.file)
	}
	return nil
}

// endsWithNewline reports whether f is empty or ends with a newline.
func endsWithNewline(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return true
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return true
	}
	return last[0] == '\n'
}
