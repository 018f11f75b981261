package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write atomically replaces the file at path with the bytes produced by write.
//
// The content is written through a buffered writer to a temporary file named
// "."+base+".tmp-*" in the directory of path, flushed, synced and closed; the
// temporary file is then given mode 0644 and renamed to path. If write or any
// of these steps fails (or write panics), the temporary file is removed and an
// existing file at path is left as it was.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: %q: empty file name", path)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: %s: flush: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %s: close: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	committed = true

	// Make the rename durable. Not every platform can sync a directory, so a
	// failure here is not reported: the file itself is complete either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes atomically replaces the file at path with b. See Write.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	})
}

// RemoveStale removes the temporary files that a Write of path left behind
// when its process was killed before it could clean up (SIGKILL, power loss),
// and returns their names. Call it only where nothing else may be writing
// path at the same time, such as a run resuming in its own directory: it
// would also remove a concurrent Write's temporary file, making that Write
// fail.
func RemoveStale(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, fmt.Errorf("atomicfile: %q: empty file name", path)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	var removed []string
	prefix := "." + base + ".tmp-"
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("atomicfile: %s: stale temporary file: %w", path, err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
