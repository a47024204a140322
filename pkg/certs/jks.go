package certs

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // the JKS format's integrity check is SHA-1; nothing else uses it
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf16"
)

// JKS format constants (sun.security.provider.JavaKeyStore).
const (
	jksMagic      = 0xFEEDFEED
	jceksMagic    = 0xCECECECE
	jksVersion    = 2
	tagPrivateKey = 1
	tagTrusted    = 2
	jksWhitener   = "Mighty Aphrodite" // salt of the keystore digest
)

// ErrWrongPassword means the keystore's integrity digest does not match the
// password: the password is wrong or the file was tampered with.
var ErrWrongPassword = errors.New("keystore password incorrect (or the keystore was tampered with)")

// Entry is one certificate of a Java keystore: a trusted certificate entry,
// or the first certificate of a private key entry's chain.
type Entry struct {
	Alias      string
	Created    time.Time
	Cert       []byte // DER
	PrivateKey bool   // the entry holds a (not decoded) private key
}

// ReadJKS decodes a JKS keystore and checks its integrity digest with
// password. Aliases are as stored (keytool lower-cases them).
func ReadJKS(data []byte, password string) ([]Entry, error) {
	if len(data) < 4 {
		return nil, errors.New("not a JKS keystore: file too short")
	}
	switch magic := binary.BigEndian.Uint32(data); {
	case magic == jceksMagic:
		return nil, errors.New("JCEKS keystores are not supported: convert it to JKS with keytool -importkeystore")
	case magic != jksMagic:
		return nil, errors.New("not a JKS keystore (wrong magic number; PKCS12?)")
	}
	if len(data) < 12+sha1.Size {
		return nil, errors.New("truncated JKS keystore")
	}
	body, digest := data[:len(data)-sha1.Size], data[len(data)-sha1.Size:]
	if subtle.ConstantTimeCompare(jksDigest(password, body), digest) != 1 {
		return nil, ErrWrongPassword
	}
	r := &jksReader{r: bytes.NewReader(body[4:])}
	version := r.u32()
	if r.err == nil && version != 1 && version != 2 {
		return nil, fmt.Errorf("unsupported JKS version %d", version)
	}
	count := r.u32()
	var entries []Entry
	for i := uint32(0); i < count && r.err == nil; i++ {
		e := r.entry(version)
		entries = append(entries, e)
	}
	if r.err != nil {
		return nil, fmt.Errorf("corrupt JKS keystore: %w", r.err)
	}
	if r.r.Len() != 0 {
		return nil, fmt.Errorf("corrupt JKS keystore: %d unexpected bytes", r.r.Len())
	}
	return entries, nil
}

// FindAlias returns the entry called alias (case-insensitively, as keytool
// matches aliases), or nil.
func FindAlias(entries []Entry, alias string) *Entry {
	for i := range entries {
		if strings.EqualFold(entries[i].Alias, alias) {
			return &entries[i]
		}
	}
	return nil
}

// WriteJKS encodes trusted certificate entries as a JKS keystore protected
// by password. The output depends only on its arguments (entries are sorted
// by alias), so it can build reproducible fixtures.
func WriteJKS(entries []Entry, password string) ([]byte, error) {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Alias < sorted[j].Alias })
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.BigEndian, v) }
	w(uint32(jksMagic))
	w(uint32(jksVersion))
	w(uint32(len(sorted)))
	for _, e := range sorted {
		if e.PrivateKey {
			return nil, fmt.Errorf("alias %s: writing private key entries is not supported", e.Alias)
		}
		w(uint32(tagTrusted))
		if err := writeUTF(&b, strings.ToLower(e.Alias)); err != nil {
			return nil, err
		}
		w(e.Created.UnixMilli())
		if err := writeUTF(&b, "X.509"); err != nil {
			return nil, err
		}
		w(uint32(len(e.Cert)))
		b.Write(e.Cert)
	}
	b.Write(jksDigest(password, b.Bytes()))
	return b.Bytes(), nil
}

// jksDigest is SHA-1(password as UTF-16BE, "Mighty Aphrodite", body).
func jksDigest(password string, body []byte) []byte {
	h := sha1.New() //nolint:gosec
	for _, c := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(c >> 8), byte(c)})
	}
	h.Write([]byte(jksWhitener))
	h.Write(body)
	return h.Sum(nil)
}

// jksReader reads big-endian fields, remembering the first error.
type jksReader struct {
	r   *bytes.Reader
	err error
}

func (r *jksReader) read(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.r.Len() {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	buf := make([]byte, n)
	_, r.err = io.ReadFull(r.r, buf)
	return buf
}

func (r *jksReader) u32() uint32 {
	b := r.read(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *jksReader) u16() uint16 {
	b := r.read(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *jksReader) i64() int64 {
	b := r.read(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// utf reads a Java "modified UTF-8" string (plain UTF-8 for the aliases
// keytool accepts).
func (r *jksReader) utf() string { return string(r.read(int(r.u16()))) }

// cert reads one certificate (type, length, DER) of a version-2 store.
func (r *jksReader) cert(version uint32) []byte {
	if version == 2 {
		if typ := r.utf(); r.err == nil && typ != "X.509" {
			r.err = fmt.Errorf("certificate type %q", typ)
			return nil
		}
	}
	return r.read(int(r.u32()))
}

// entry reads one keystore entry.
func (r *jksReader) entry(version uint32) Entry {
	tag := r.u32()
	e := Entry{Alias: r.utf()}
	e.Created = time.UnixMilli(r.i64()).UTC()
	switch tag {
	case tagTrusted:
		e.Cert = r.cert(version)
	case tagPrivateKey:
		e.PrivateKey = true
		r.read(int(r.u32())) // the protected key
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			c := r.cert(version)
			if i == 0 {
				e.Cert = c
			}
		}
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unknown entry tag %d", tag)
		}
	}
	return e
}

// writeUTF writes a length-prefixed string.
func writeUTF(b *bytes.Buffer, s string) error {
	if len(s) > 0xFFFF {
		return fmt.Errorf("string too long for JKS: %d bytes", len(s))
	}
	_ = binary.Write(b, binary.BigEndian, uint16(len(s)))
	b.WriteString(s)
	return nil
}
