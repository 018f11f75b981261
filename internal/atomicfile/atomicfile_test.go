package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers returns the names in dir other than keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
outer:
	for _, e := range ents {
		for _, k := range keep {
			if e.Name() == k {
				continue outer
			}
		}
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	errBoom := errors.New("boom")
	for _, test := range []struct {
		name    string
		old     string // existing content; "" means no file
		write   func(w io.Writer) error
		want    string // content after the call
		wantErr error
	}{
		{
			name:  "new file",
			write: func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err },
			want:  "hello",
		},
		{
			name:  "replace",
			old:   "old content",
			write: func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err },
			want:  "new",
		},
		{
			name:  "empty content",
			old:   "old content",
			write: func(w io.Writer) error { return nil },
			want:  "",
		},
		{
			name: "callback error keeps old file",
			old:  "old content",
			write: func(w io.Writer) error {
				io.WriteString(w, strings.Repeat("partial", 10000))
				return errBoom
			},
			want:    "old content",
			wantErr: errBoom,
		},
		{
			name:    "callback error without old file",
			write:   func(w io.Writer) error { return errBoom },
			wantErr: errBoom,
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.bin")
			if test.old != "" {
				if err := os.WriteFile(path, []byte(test.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, test.write)
			if !errors.Is(err, test.wantErr) {
				t.Fatalf("Write error = %v, want %v", err, test.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "atomicfile: ") {
				t.Errorf("error %q lacks package prefix", err)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case test.wantErr != nil && test.old == "":
				if !os.IsNotExist(rerr) {
					t.Errorf("file exists after failed write (err=%v)", rerr)
				}
			case rerr != nil:
				t.Fatal(rerr)
			case string(got) != test.want:
				t.Errorf("content = %.40q, want %.40q", got, test.want)
			}
			if test.wantErr == nil {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if perm := fi.Mode().Perm(); perm != 0o644 {
					t.Errorf("mode = %v, want 0644", perm)
				}
			}
			if names := leftovers(t, dir, "out.bin"); len(names) != 0 {
				t.Errorf("temporary files left behind: %v", names)
			}
		})
	}
}

func TestWritePanicCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		Write(path, func(w io.Writer) error { panic("callback panic") })
	}()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "old" {
		t.Errorf("content = %q, %v; want \"old\"", got, err)
	}
	if names := leftovers(t, dir, "out.bin"); len(names) != 0 {
		t.Errorf("temporary files left behind: %v", names)
	}
}

func TestWriteBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{
		filepath.Join(dir, "missing", "out.bin"), // no such directory
		dir + string(filepath.Separator),         // empty base name
		dir,                                      // destination is a directory
	} {
		err := WriteBytes(path, []byte("x"))
		if err == nil {
			t.Errorf("WriteBytes(%q) succeeded, want error", path)
			continue
		}
		if !strings.HasPrefix(err.Error(), "atomicfile: ") {
			t.Errorf("error %q lacks package prefix", err)
		}
	}
	if names := leftovers(t, dir); len(names) != 0 {
		t.Errorf("temporary files left behind: %v", names)
	}
}

func TestWriteBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b")
	for _, want := range []string{"first", "second, longer", ""} {
		if err := WriteBytes(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("content = %q, want %q", got, want)
		}
	}
}

// RemoveStale removes exactly the temporary files of its own path: not the
// file itself, not another file's temporaries, not similar names.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	keep := []string{"out.bin", ".other.bin.tmp-1", "out.bin.tmp-2", ".out.bin.tmpx"}
	for _, name := range append([]string{".out.bin.tmp-123", ".out.bin.tmp-"}, keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("removed %v, want the two .out.bin.tmp-* files", removed)
	}
	if names := leftovers(t, dir, keep...); len(names) != 0 {
		t.Errorf("left %v", names)
	}
	if names := leftovers(t, dir); len(names) != len(keep) {
		t.Errorf("removed too much: left %v, want %v", names, keep)
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing", "out.bin")); err != nil || len(removed) != 0 {
		t.Errorf("missing directory: %v, %v; want nothing, no error", removed, err)
	}
	if _, err := RemoveStale(dir + string(filepath.Separator)); err == nil {
		t.Error("empty base name: no error")
	}
}
