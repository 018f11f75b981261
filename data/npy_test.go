package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npy"
)

// npyBytes builds an NPY version 1.0 file by hand, so that tests can declare
// any header. A descr starting with "[" is written unquoted.
func npyBytes(descr string, fortran bool, shape string, data []byte) []byte {
	f := "False"
	if fortran {
		f = "True"
	}
	if !strings.HasPrefix(descr, "[") {
		descr = "'" + descr + "'"
	}
	dict := fmt.Sprintf("{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, f, shape)
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	var b bytes.Buffer
	b.Write(npy.Magic[:])
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

// npyWrite encodes v with npyio.
func npyWrite(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := npy.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func le[T any](v ...T) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.npy")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkErr checks that err wraps want (when non-nil), mentions every string
// in contains, is one line and starts with "data: <name>: ".
func checkErr(t *testing.T, err, want error, name string, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	msg := err.Error()
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %q", msg, want)
	}
	if prefix := "data: " + name + ": "; !strings.HasPrefix(msg, prefix) {
		t.Errorf("error %q lacks prefix %q", msg, prefix)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error %q is not one line", msg)
	}
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
}

var twoByThree = Matrix{Data: []float64{0, 1.5, -2, 3e300, -4e-300, 5}, Rows: 2, Cols: 3}

func TestMatrixRoundTrip(t *testing.T) {
	for _, m := range []Matrix{
		twoByThree,
		{Data: []float64{7}, Rows: 1, Cols: 1},
		{Data: []float64{1, 2, 3, 4}, Rows: 4, Cols: 1},
		{Data: []float64{1, 2, 3, 4}, Rows: 1, Cols: 4},
	} {
		path := filepath.Join(t.TempDir(), "m.npy")
		if err := WriteMatrix(path, m); err != nil {
			t.Fatal(err)
		}
		got, err := ReadMatrix(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip of %v gave %v", m, got)
		}
		// The file is a plain C-order float64 NPY file.
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := npy.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Header.Descr; h.Type != "'<f8'" || h.Fortran || !reflect.DeepEqual(h.Shape, []int{m.Rows, m.Cols}) {
			t.Errorf("header = %+v", h)
		}
		got, err = ReadMatrixFrom(bytes.NewReader(raw), "stream")
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("ReadMatrixFrom = %v, %v; want %v", got, err, m)
		}
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	for _, labels := range [][]int{{0}, {0, 1, 2, 1, 0}, {math.MaxInt, 0, 7}} {
		path := filepath.Join(t.TempDir(), "y.npy")
		if err := WriteLabels(path, labels); err != nil {
			t.Fatal(err)
		}
		got, err := ReadLabels(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, labels) {
			t.Errorf("round trip of %v gave %v", labels, got)
		}
		raw, _ := os.ReadFile(path)
		r, err := npy.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Header.Descr; h.Type != "'<i8'" || !reflect.DeepEqual(h.Shape, []int{len(labels)}) {
			t.Errorf("header = %+v", h)
		}
	}
}

func TestReadMatrixInputs(t *testing.T) {
	for _, test := range []struct {
		name string
		file []byte
		want Matrix
	}{
		{
			name: "float32 via npyio",
			file: npyWrite(t, [][]float32{{1, 2.5, -3}, {4, 5, 6}}),
			want: Matrix{Data: []float64{1, 2.5, -3, 4, 5, 6}, Rows: 2, Cols: 3},
		},
		{
			name: "float64 via npyio",
			file: npyWrite(t, [][]float64{{1}, {2}}),
			want: Matrix{Data: []float64{1, 2}, Rows: 2, Cols: 1},
		},
		{
			name: "big-endian float64",
			file: npyBytes(">f8", false, "(1, 2)", func() []byte {
				var b bytes.Buffer
				binary.Write(&b, binary.BigEndian, []float64{1.25, -8})
				return b.Bytes()
			}()),
			want: Matrix{Data: []float64{1.25, -8}, Rows: 1, Cols: 2},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, err := ReadMatrix(writeTemp(t, test.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("got %v, want %v", got, test.want)
			}
		})
	}
}

func TestReadLabelsInputs(t *testing.T) {
	for _, test := range []struct {
		name string
		file []byte
		want []int
	}{
		{"int64", npyWrite(t, []int64{3, 0, 2}), []int{3, 0, 2}},
		{"int32", npyWrite(t, []int32{1, 0, 1}), []int{1, 0, 1}},
		{"int16", npyWrite(t, []int16{4, 5}), []int{4, 5}},
		{"int8", npyWrite(t, []int8{127}), []int{127}},
		{"uint8", npyWrite(t, []uint8{0, 255}), []int{0, 255}},
		{"uint32", npyWrite(t, []uint32{1 << 31}), []int{1 << 31}},
		{"N×1 int32", npyWrite(t, [][]int32{{2}, {0}, {1}}), []int{2, 0, 1}},
		{"N×1 Fortran", npyBytes("<i8", true, "(2, 1)", le[int64](5, 6)), []int{5, 6}},
		{"big-endian int32", npyBytes(">i4", false, "(2,)", []byte{0, 0, 1, 0, 0, 0, 0, 9}), []int{256, 9}},
		{"version 2 header", func() []byte {
			b := npyBytes("<i8", false, "(1,)", le[int64](42))
			// Rewrite the 1.0 preamble into a 2.0 one (4-byte length).
			v2 := append([]byte{}, b[:6]...)
			v2 = append(v2, 2, 0)
			v2 = binary.LittleEndian.AppendUint32(v2, uint32(binary.LittleEndian.Uint16(b[8:10])))
			return append(v2, b[10:]...)
		}(), []int{42}},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, err := ReadLabels(writeTemp(t, test.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("got %v, want %v", got, test.want)
			}
			got, err = ReadLabelsFrom(bytes.NewReader(test.file), "stream")
			if err != nil || !reflect.DeepEqual(got, test.want) {
				t.Errorf("ReadLabelsFrom = %v, %v; want %v", got, err, test.want)
			}
		})
	}
}

func TestReadMatrixErrors(t *testing.T) {
	valid := npyWrite(t, [][]float64{{1, 2, 3}, {4, 5, 6}})
	for _, test := range []struct {
		name     string
		file     []byte
		want     error
		contains []string
	}{
		{"NaN position", npyWrite(t, [][]float64{{1, 2, 3}, {4, 5, math.NaN()}}), ErrNonFinite, []string{"NaN", "row 1, column 2"}},
		{"Inf position float32", npyWrite(t, [][]float32{{1, float32(math.Inf(-1))}}), ErrNonFinite, []string{"-Inf", "row 0, column 1"}},
		{"1-D refused", npyWrite(t, []float64{1, 2, 3}), ErrShape, []string{"2-D", "1-D", "(3,)"}},
		{"3-D refused", npyBytes("<f8", false, "(1, 1, 1)", le[float64](1)), ErrShape, []string{"3-D"}},
		{"scalar refused", npyBytes("<f8", false, "()", le[float64](1)), ErrShape, []string{"0-D"}},
		{"int64 dtype", npyWrite(t, [][]int64{{1, 2}}), ErrDType, []string{"float64 or float32, got int64"}},
		{"float16 dtype", npyBytes("<f2", false, "(1, 1)", []byte{0, 0}), ErrDType, []string{"float16"}},
		{"string dtype", npyBytes("<U3", false, "(1, 1)", make([]byte, 12)), ErrDType, nil},
		{"structured dtype", npyBytes("[('a', '<f8')]", false, "(1, 1)", le[float64](1)), ErrDType, nil},
		{"Fortran order", npyBytes("<f8", true, "(2, 2)", le[float64](1, 2, 3, 4)), ErrLayout, []string{"Fortran"}},
		{"empty rows", npyBytes("<f8", false, "(0, 3)", nil), ErrShape, []string{"empty"}},
		{"empty cols", npyBytes("<f8", false, "(3, 0)", nil), ErrShape, []string{"empty"}},
		{"negative dimension", npyBytes("<f8", false, "(-1, 2)", nil), ErrFormat, []string{"negative"}},
		{"non-integer dimension", npyBytes("<f8", false, "(1.5, 2)", nil), ErrFormat, nil},
		{"huge shape", npyBytes("<f8", false, "(1099511627776, 1099511627776)", le[float64](1)), ErrFormat, []string{"overflows"}},
		{"byte size overflow", npyBytes("<f8", false, "(4611686018427387904, 1)", le[float64](1)), ErrFormat, []string{"overflows"}},
		{"shape larger than file", npyBytes("<f8", false, "(1048576, 1048576)", le[float64](1)), ErrFormat, []string{"(1048576, 1048576)"}},
		{"trailing data", append(append([]byte{}, valid...), 0), ErrFormat, []string{"trailing"}},
		{"truncated data", valid[:len(valid)-1], ErrFormat, nil},
		{"truncated header", valid[:20], ErrFormat, []string{"truncated header"}},
		{"only magic", valid[:6], ErrFormat, []string{"too short"}},
		{"empty file", nil, ErrFormat, []string{"too short"}},
		{"wrong magic", append([]byte("\x93NUMPZ"), valid[6:]...), ErrFormat, []string{"not an NPY file"}},
		{"garbage", []byte("this is certainly not a numpy file, just some text\n"), ErrFormat, []string{"not an NPY file"}},
		{"bad version", append(append([]byte{}, valid[:6]...), append([]byte{9, 0}, valid[8:]...)...), ErrFormat, []string{"version 9.0"}},
		{"header without newline", append(append([]byte{}, npy.Magic[:]...), 1, 0, 4, 0, 'a', 'b', 'c', 'd'), ErrFormat, []string{"header"}},
		{"header without keys", append(append([]byte{}, npy.Magic[:]...), 1, 0, 4, 0, '{', '}', ' ', '\n'), ErrFormat, []string{"header"}},
		{"huge v2 header length", append(append([]byte{}, npy.Magic[:]...), 2, 0, 0xff, 0xff, 0xff, 0xff), ErrFormat, []string{"header length"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := writeTemp(t, test.file)
			_, err := ReadMatrix(path)
			checkErr(t, err, test.want, path, test.contains...)
			_, err = ReadMatrixFrom(bytes.NewReader(test.file), "stream")
			if test.name == "shape larger than file" {
				// A stream cannot be sized: the element-count limit applies.
				test.contains = []string{"allowed for a stream"}
			}
			checkErr(t, err, test.want, "stream", test.contains...)
		})
	}
}

func TestReadLabelsErrors(t *testing.T) {
	valid := npyWrite(t, []int64{0, 1, 2})
	for _, test := range []struct {
		name     string
		file     []byte
		want     error
		contains []string
	}{
		{"float64", npyWrite(t, []float64{0, 1}), ErrDType, []string{"labels must be integers, got float64"}},
		{"float32", npyWrite(t, []float32{0, 1}), ErrDType, []string{"got float32"}},
		{"bool", npyWrite(t, []bool{true}), ErrDType, []string{"got bool"}},
		{"negative", npyWrite(t, []int64{0, 3, -1, 2}), ErrLabel, []string{"-1", "index 2", "negative"}},
		{"negative int8", npyWrite(t, []int8{-128}), ErrLabel, []string{"-128", "index 0"}},
		{"uint64 overflow", npyWrite(t, []uint64{1, math.MaxUint64}), ErrLabel, []string{"index 1"}},
		{"N×2", npyWrite(t, [][]int64{{1, 2}}), ErrShape, []string{"(1, 2)"}},
		{"scalar", npyBytes("<i8", false, "()", le[int64](1)), ErrShape, nil},
		{"empty", npyBytes("<i8", false, "(0,)", nil), ErrShape, []string{"no labels"}},
		{"huge shape", npyBytes("<i8", false, "(4611686018427387904,)", nil), ErrFormat, []string{"overflows"}},
		{"shape larger than file", npyBytes("<i4", false, "(1073741824,)", le[int32](1)), ErrFormat, nil},
		{"truncated", valid[:len(valid)-3], ErrFormat, nil},
		{"garbage", []byte("\x00\x01\x02garbage"), ErrFormat, []string{"not an NPY file"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := writeTemp(t, test.file)
			_, err := ReadLabels(path)
			checkErr(t, err, test.want, path, test.contains...)
			_, err = ReadLabelsFrom(bytes.NewReader(test.file), "stream")
			checkErr(t, err, test.want, "stream", test.contains...)
		})
	}
}

// TestReadTruncatedEverywhere cuts valid files at every length.
func TestReadTruncatedEverywhere(t *testing.T) {
	m := npyWrite(t, [][]float32{{1, 2}, {3, 4}})
	l := npyWrite(t, []int32{1, 2, 3})
	for n := range len(m) {
		_, err := ReadMatrixFrom(bytes.NewReader(m[:n]), "m")
		checkErr(t, err, ErrFormat, "m")
		_, err = readMatrix(bytes.NewReader(m[:n]), "m", int64(n))
		checkErr(t, err, ErrFormat, "m")
	}
	for n := range len(l) {
		_, err := ReadLabelsFrom(bytes.NewReader(l[:n]), "l")
		checkErr(t, err, ErrFormat, "l")
		_, err = readLabels(bytes.NewReader(l[:n]), "l", int64(n))
		checkErr(t, err, ErrFormat, "l")
	}
}

// TestHostileShapeDoesNotAllocate checks that a tiny input declaring a large
// shape is refused quickly, without allocating for the declared size.
func TestHostileShapeDoesNotAllocate(t *testing.T) {
	for _, test := range []struct {
		shape string
		read  func([]byte) error
	}{
		// Within the stream element limit: decoded incrementally.
		{"(16384, 16384)", func(b []byte) error { _, err := ReadMatrixFrom(bytes.NewReader(b), "s"); return err }},
		{"(268435456,)", func(b []byte) error { _, err := ReadLabelsFrom(bytes.NewReader(b), "s"); return err }},
		// Over the limit, or over the file size.
		{"(1099511627776, 1099511627776)", func(b []byte) error { _, err := ReadMatrixFrom(bytes.NewReader(b), "s"); return err }},
		{"(1048576, 1048576)", func(b []byte) error { _, err := readMatrix(bytes.NewReader(b), "s", int64(len(b))); return err }},
		{"(1099511627776,)", func(b []byte) error { _, err := readLabels(bytes.NewReader(b), "s", int64(len(b))); return err }},
	} {
		descr := "<f8"
		if !strings.Contains(test.shape, ", ") {
			descr = "<i8"
		}
		b := npyBytes(descr, false, test.shape, make([]byte, 64))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := test.read(b)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: got no error", test.shape)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes", test.shape, alloc)
		}
		if elapsed > time.Second {
			t.Errorf("%s: took %v", test.shape, elapsed)
		}
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.npy")
	_, err := ReadMatrix(path)
	checkErr(t, err, os.ErrNotExist, path)
	_, err = ReadLabels(path)
	checkErr(t, err, os.ErrNotExist, path)
	dir := t.TempDir()
	_, err = ReadMatrix(dir)
	checkErr(t, err, nil, dir, "directory")
}

func TestWriteMatrixErrors(t *testing.T) {
	dir := t.TempDir()
	for _, test := range []struct {
		name     string
		m        Matrix
		want     error
		contains []string
	}{
		{"zero rows", Matrix{Rows: 0, Cols: 3}, ErrShape, nil},
		{"negative cols", Matrix{Data: []float64{1}, Rows: 1, Cols: -1}, ErrShape, nil},
		{"length mismatch", Matrix{Data: []float64{1, 2, 3}, Rows: 2, Cols: 2}, ErrShape, []string{"holds 3 values"}},
		{"overflowing dims", Matrix{Data: []float64{1}, Rows: math.MaxInt, Cols: math.MaxInt}, ErrShape, nil},
		{"NaN", Matrix{Data: []float64{1, 2, math.NaN(), 4}, Rows: 2, Cols: 2}, ErrNonFinite, []string{"row 1, column 0"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.npy")
			checkErr(t, WriteMatrix(path, test.m), test.want, path, test.contains...)
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("file written despite error")
			}
		})
	}
	path := filepath.Join(dir, "no-such-dir", "m.npy")
	checkErr(t, WriteMatrix(path, twoByThree), os.ErrNotExist, path)
}

func TestWriteLabelsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "y.npy")
	checkErr(t, WriteLabels(path, nil), ErrShape, path)
	checkErr(t, WriteLabels(path, []int{0, -3}), ErrLabel, path, "index 1")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file written despite error")
	}
}

// TestWriteKeepsOldFile checks that a failed write leaves the old file.
func TestWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.npy")
	if err := WriteMatrix(path, twoByThree); err != nil {
		t.Fatal(err)
	}
	if err := WriteMatrix(path, Matrix{Data: []float64{math.Inf(1)}, Rows: 1, Cols: 1}); err == nil {
		t.Fatal("no error writing Inf")
	}
	got, err := ReadMatrix(path)
	if err != nil || !reflect.DeepEqual(got, twoByThree) {
		t.Errorf("after failed write: %v, %v", got, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
}

// errReader fails after its data.
type errReader struct {
	r   io.Reader
	err error
}

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestReadErrorPassedThrough(t *testing.T) {
	errDisk := errors.New("disk on fire")
	b := npyWrite(t, [][]float64{{1, 2}})
	_, err := ReadMatrixFrom(errReader{bytes.NewReader(b[:len(b)-4]), errDisk}, "r")
	checkErr(t, err, errDisk, "r")
}

func fuzzSeeds(f *testing.F) {
	f.Add(npyWrite(f, [][]float64{{1, 2, 3}, {4, 5, 6}}))
	f.Add(npyWrite(f, [][]float32{{1, 2}}))
	f.Add(npyWrite(f, []int64{0, 1, 2}))
	f.Add(npyWrite(f, []int32{3, 1}))
	f.Add(npyWrite(f, [][]int64{{1}, {2}}))
	f.Add(npyWrite(f, []uint8{9}))
	f.Add(npyBytes("<f8", true, "(1, 1)", le[float64](1)))
	f.Add(npyBytes("<f8", false, "(1099511627776, 1099511627776)", nil))
	f.Add([]byte("garbage"))
}

func checkFuzzErr(t *testing.T, err error, name string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "data: "+name+": ") || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("bad error message %q", msg)
	}
}

func FuzzReadMatrix(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{-1, int64(len(b))} {
			m, err := readMatrix(bytes.NewReader(b), "fuzz.npy", size)
			if err != nil {
				checkFuzzErr(t, err, "fuzz.npy")
				continue
			}
			if m.Rows <= 0 || m.Cols <= 0 || len(m.Data) != m.Rows*m.Cols {
				t.Fatalf("inconsistent matrix %d×%d with %d values", m.Rows, m.Cols, len(m.Data))
			}
			for _, v := range m.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite value %v accepted", v)
				}
			}
		}
	})
}

func FuzzReadLabels(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{-1, int64(len(b))} {
			l, err := readLabels(bytes.NewReader(b), "fuzz.npy", size)
			if err != nil {
				checkFuzzErr(t, err, "fuzz.npy")
				continue
			}
			if len(l) == 0 {
				t.Fatal("empty labels accepted")
			}
			for _, v := range l {
				if v < 0 {
					t.Fatalf("negative label %d accepted", v)
				}
			}
		}
	})
}
