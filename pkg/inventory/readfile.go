package inventory

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Size caps for the files carbonctl reads on the control machine.
const (
	MaxInventorySize = 1 << 20 // an inventory or a playbook
	maxSecretSize    = 64 << 10
)

// ReadRegular reads the regular file at p, refusing anything else (a FIFO
// would block the read, and with it Ctrl-C; a device such as /dev/zero
// never ends) and files larger than max bytes. The open does not block:
// the file's type is checked on the opened descriptor, so a FIFO swapped
// in after a check cannot hang it either.
func ReadRegular(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fileKind(info.Mode()))
	}
	if info.Size() > max {
		return nil, fmt.Errorf("%d bytes is more than the %d bytes allowed", info.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("it grew past the %d bytes allowed while being read", max)
	}
	return data, nil
}

// fileKind names a non-regular file's type.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a plain file"
}
