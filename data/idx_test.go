package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// idxBytes builds an IDX file with any header: the magic 0 0 typ len(dims),
// the big-endian dims, then data as is.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func be[T any](v ...T) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, v)
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadIDXTypes(t *testing.T) {
	for _, test := range []struct {
		name string
		file []byte
		want IDX
	}{
		{"uint8 2×3", idxBytes(0x08, []uint32{2, 3}, []byte{0, 1, 2, 253, 254, 255}),
			IDX{IDXUint8, []int{2, 3}, []float64{0, 1, 2, 253, 254, 255}}},
		{"int8", idxBytes(0x09, []uint32{3}, []byte{0x80, 0xff, 0x7f}),
			IDX{IDXInt8, []int{3}, []float64{-128, -1, 127}}},
		{"int16", idxBytes(0x0B, []uint32{1, 2}, be[int16](-300, 300)),
			IDX{IDXInt16, []int{1, 2}, []float64{-300, 300}}},
		{"int32", idxBytes(0x0C, []uint32{2}, be[int32](math.MinInt32, 70000)),
			IDX{IDXInt32, []int{2}, []float64{math.MinInt32, 70000}}},
		{"float32", idxBytes(0x0D, []uint32{1, 1, 2}, be[float32](0.5, -2)),
			IDX{IDXFloat32, []int{1, 1, 2}, []float64{0.5, -2}}},
		{"float64 4-D", idxBytes(0x0E, []uint32{1, 2, 1, 1}, be(1e300, -1e-300)),
			IDX{IDXFloat64, []int{1, 2, 1, 1}, []float64{1e300, -1e-300}}},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, file := range []struct{ name, path string }{
				{"raw", writeFile(t, dir, "x-idx", test.file)},
				{"gzip", writeFile(t, dir, "x-idx.gz", gz(t, test.file))},
				// Compression is recognised by content, not by name.
				{"gzip without .gz", writeFile(t, dir, "y-idx", gz(t, test.file))},
			} {
				got, err := ReadIDX(file.path)
				if err != nil {
					t.Fatalf("%s: %v", file.name, err)
				}
				if !reflect.DeepEqual(got, test.want) {
					t.Errorf("%s: got %+v, want %+v", file.name, got, test.want)
				}
				b, _ := os.ReadFile(file.path)
				got, err = ReadIDXFrom(bytes.NewReader(b), "stream")
				if err != nil || !reflect.DeepEqual(got, test.want) {
					t.Errorf("%s: ReadIDXFrom = %+v, %v; want %+v", file.name, got, err, test.want)
				}
			}
		})
	}
}

func TestIDXTypeString(t *testing.T) {
	for typ, want := range map[IDXType]string{IDXUint8: "uint8", IDXFloat64: "float64", 0x0A: "type 0x0a"} {
		if got := typ.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", byte(typ), got, want)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	ok := idxBytes(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4})
	okGz := gz(t, ok)
	badCRC := bytes.Clone(okGz)
	badCRC[len(badCRC)-5] ^= 0xff // last byte of the CRC-32 in the trailer
	const big = 0xFFFFFFFF
	for _, test := range []struct {
		name     string
		file     []byte
		stream   bool // read with ReadIDXFrom rather than from a file
		want     error
		contains []string
	}{
		{"empty", nil, false, ErrIDX, []string{"too short"}},
		{"short magic", []byte{0, 0, 8}, false, ErrIDX, []string{"too short"}},
		{"NPY file", npyWrite(t, []uint8{1}), false, ErrIDX, []string{"bad magic"}},
		{"bad magic", idxBytes(0x08, []uint32{1}, []byte{1})[1:], false, ErrIDX, []string{"bad magic"}},
		{"unknown type", idxBytes(0x0A, []uint32{1}, []byte{1}), false, ErrIDX, []string{"type 0x0a"}},
		{"zero dims", idxBytes(0x08, nil, []byte{1}), false, ErrIDX, []string{"0 dimensions"}},
		{"five dims", idxBytes(0x08, []uint32{1, 1, 1, 1, 1}, []byte{1}), false, ErrIDX, []string{"5 dimensions"}},
		{"truncated dims", idxBytes(0x08, []uint32{1, 1, 1}, nil)[:10], false, ErrIDX, []string{"truncated header"}},
		{"zero dimension", idxBytes(0x08, []uint32{3, 0}, nil), false, ErrIDX, []string{"dimension 1", "zero"}},
		{"overflowing dims", idxBytes(0x0E, []uint32{big, big, big, big}, nil), false, ErrIDX, []string{"overflows"}},
		{"overflowing dims stream", idxBytes(0x0E, []uint32{big, big, big, big}, nil), true, ErrIDX, []string{"overflows"}},
		{"larger than file", idxBytes(0x08, []uint32{60000, 28, 28}, make([]byte, 10)), false, ErrIDX, []string{"60000×28×28", "file holds 10"}},
		{"larger than stream limit", idxBytes(0x08, []uint32{1 << 15, 1 << 15, 2}, nil), true, ErrIDX, []string{"more than the 1073741824"}},
		{"larger than gzip can hold", gz(t, idxBytes(0x08, []uint32{1 << 20}, nil)), false, ErrIDX, []string{"gzip file can hold"}},
		{"short data", idxBytes(0x0C, []uint32{3}, be[int32](1, 2)), false, ErrIDX, []string{"file holds 8"}},
		{"short data stream", idxBytes(0x0C, []uint32{3}, be[int32](1, 2)), true, ErrIDX, []string{"got 2 of 3 elements"}},
		{"short data gzip", gz(t, idxBytes(0x0C, []uint32{3}, be[int32](1, 2))), false, ErrIDX, []string{"got 2 of 3 elements"}},
		{"trailing data", append(bytes.Clone(ok), 0), false, ErrIDX, []string{"1 trailing bytes"}},
		{"trailing data stream", append(bytes.Clone(ok), 0), true, ErrIDX, []string{"trailing bytes"}},
		{"trailing data gzip", gz(t, append(bytes.Clone(ok), 0)), false, ErrIDX, []string{"trailing bytes"}},
		{"garbage after gzip", append(bytes.Clone(okGz), 'x', 'y', 'z'), false, ErrIDX, []string{"after the data"}},
		{"longer garbage after gzip", append(bytes.Clone(okGz), "not a gzip member"...), false, gzip.ErrHeader, []string{"corrupt gzip"}},
		{"bad gzip checksum", badCRC, false, gzip.ErrChecksum, []string{"corrupt gzip"}},
		{"truncated gzip header", okGz[:5], false, ErrIDX, []string{"truncated gzip header"}},
		{"truncated gzip trailer", okGz[:len(okGz)-2], false, ErrIDX, []string{"after the data"}},
		{"NaN", idxBytes(0x0D, []uint32{2}, be(float32(1), float32(math.NaN()))), false, ErrNonFinite, []string{"element 1"}},
		{"Inf stream", idxBytes(0x0E, []uint32{1}, be(math.Inf(-1))), true, ErrNonFinite, []string{"-Inf at element 0"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			var err error
			name := "stream"
			if test.stream {
				_, err = ReadIDXFrom(bytes.NewReader(test.file), name)
			} else {
				name = writeFile(t, t.TempDir(), "x-idx", test.file)
				_, err = ReadIDX(name)
			}
			checkErr(t, err, test.want, name, test.contains...)
		})
	}
}

func TestReadIDXTruncatedEverywhere(t *testing.T) {
	raw := idxBytes(0x0B, []uint32{2, 3}, be[int16](1, 2, 3, 4, 5, 6))
	for _, b := range [][]byte{raw, gz(t, raw)} {
		for n := range len(b) {
			_, err := ReadIDXFrom(bytes.NewReader(b[:n]), "s")
			checkErr(t, err, ErrIDX, "s")
			_, err = readIDX(bytes.NewReader(b[:n]), "f", int64(n))
			checkErr(t, err, ErrIDX, "f")
		}
	}
}

// TestReadIDXHostileDoesNotAllocate checks that a tiny input declaring a
// large array is refused quickly, without allocating for the declared size.
func TestReadIDXHostileDoesNotAllocate(t *testing.T) {
	hostile := idxBytes(0x0E, []uint32{1 << 14, 1 << 14}, make([]byte, 64)) // 2 GiB of float64
	hostileGz := gz(t, hostile)
	for _, test := range []struct {
		name string
		read func() error
	}{
		// Within the stream element limit: read incrementally.
		{"stream", func() error { _, err := ReadIDXFrom(bytes.NewReader(hostile), "s"); return err }},
		{"gzip stream", func() error { _, err := ReadIDXFrom(bytes.NewReader(hostileGz), "s"); return err }},
		// Over the file size, or what a gzip file of that size can hold.
		{"file", func() error { _, err := readIDX(bytes.NewReader(hostile), "f", int64(len(hostile))); return err }},
		{"gzip file", func() error { _, err := readIDX(bytes.NewReader(hostileGz), "f", int64(len(hostileGz))); return err }},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := test.read()
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: got no error", test.name)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
			t.Errorf("%s: allocated %d bytes", test.name, alloc)
		}
		if elapsed > time.Second {
			t.Errorf("%s: took %v", test.name, elapsed)
		}
	}
}

func TestReadIDXMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-idx")
	_, err := ReadIDX(path)
	checkErr(t, err, os.ErrNotExist, path)
	dir := t.TempDir()
	_, err = ReadIDX(dir)
	checkErr(t, err, nil, dir, "directory")
}

func TestReadIDXErrorPassedThrough(t *testing.T) {
	errDisk := errors.New("disk on fire")
	b := idxBytes(0x08, []uint32{4}, []byte{1, 2, 3, 4})
	_, err := ReadIDXFrom(errReader{bytes.NewReader(b[:len(b)-2]), errDisk}, "r")
	checkErr(t, err, errDisk, "r")
	g := gz(t, b)
	_, err = ReadIDXFrom(errReader{bytes.NewReader(g[:len(g)-4]), errDisk}, "r")
	checkErr(t, err, errDisk, "r")
}

func FuzzReadIDX(f *testing.F) {
	seeds := [][]byte{
		idxBytes(0x08, []uint32{2, 2, 2}, []byte{0, 1, 2, 3, 252, 253, 254, 255}),
		idxBytes(0x08, []uint32{3}, []byte{7, 0, 9}),
		idxBytes(0x09, []uint32{2}, []byte{0x80, 1}),
		idxBytes(0x0B, []uint32{1, 2}, be[int16](-1, 2)),
		idxBytes(0x0C, []uint32{2, 1}, be[int32](5, -5)),
		idxBytes(0x0D, []uint32{2}, be[float32](0.25, 1)),
		idxBytes(0x0E, []uint32{1, 1, 1, 1}, be(0.5)),
		idxBytes(0x08, []uint32{1 << 14, 1 << 14}, nil),
	}
	for _, s := range seeds {
		f.Add(s)
		f.Add(gz(f, s))
	}
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, size := range []int64{-1, int64(len(b))} {
			raw, err := readIDX(bytes.NewReader(b), "fuzz-idx", size)
			var m IDX
			if err == nil {
				m, err = raw.toIDX("fuzz-idx")
			}
			if err != nil {
				checkFuzzErr(t, err, "fuzz-idx")
				continue
			}
			if len(m.Dims) == 0 || len(m.Dims) > MaxIDXDims {
				t.Fatalf("accepted %d dimensions", len(m.Dims))
			}
			n := 1
			for _, d := range m.Dims {
				if d <= 0 {
					t.Fatalf("accepted dimensions %v", m.Dims)
				}
				n *= d
			}
			if len(m.Data) != n || m.Type.Size() == 0 {
				t.Fatalf("dimensions %v of %v with %d values", m.Dims, m.Type, len(m.Data))
			}
			for _, v := range m.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite value %v accepted", v)
				}
			}
		}
	})
}
