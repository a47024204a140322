package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a heap profile to when the run ends
// (go tool pprof -sample_index=alloc_space reads what the run allocated):
// how the memory of a large run is measured (docs/performance.md).
const profileEnv = "CARBONCTL_HEAP_PROFILE"

// writeHeapProfile writes the heap profile that profileEnv asks for, if any.
func writeHeapProfile(stderr io.Writer) {
	p := os.Getenv(profileEnv)
	if p == "" {
		return
	}
	f, err := os.Create(p)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "carbonctl: %s: %v\n", profileEnv, err)
	}
}
