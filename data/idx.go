package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// ErrIDX is wrapped by the errors for input that is not a well-formed IDX
// file: bad magic, unknown element type, bad number of dimensions, declared
// size larger than the input, truncated or trailing data, corrupt gzip data.
var ErrIDX = errors.New("malformed IDX file")

// IDXType is the element type code of an IDX file, the third byte of its
// magic number.
type IDXType byte

// The IDX element types. Multi-byte values are big-endian.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

// Size returns the number of bytes of one element of type t, or 0 if t is
// not a known type.
func (t IDXType) Size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// String returns the Go name of the type, e.g. "uint8", or "type 0x.." for
// an unknown type.
func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

func (t IDXType) isFloat() bool { return t == IDXFloat32 || t == IDXFloat64 }

// IDX is an array read from an IDX file: element i (row-major over Dims) is
// Data[i], converted to float64 from the stored Type.
type IDX struct {
	Type IDXType
	Dims []int // 1 to MaxIDXDims positive sizes, outermost first
	Data []float64
}

const (
	// MaxIDXDims is the largest number of dimensions ReadIDX accepts.
	MaxIDXDims = 4
	// maxIDXStreamElems bounds the element count declared by an input
	// whose size is unknown (a stream, or compressed data).
	maxIDXStreamElems = 1 << 30
	// maxDeflateRatio bounds the ratio of uncompressed to compressed size of
	// DEFLATE data, hence of gzip files (zlib technical details, Adler:
	// "the limit is 1032:1").
	maxDeflateRatio = 1032
)

// ReadIDX reads the IDX file at path, the format of the MNIST files
// (LeCun et al., THE MNIST DATABASE of handwritten digits): the magic bytes
// 0x00 0x00 type ndims, then ndims big-endian uint32 sizes, then the
// big-endian elements in row-major order. The file may be gzip-compressed;
// compression is recognised by the gzip magic bytes, whatever the file's
// name. Every dimension must be positive and floating-point values finite.
//
// The declared size is checked against the file before anything is
// allocated: a raw file must hold exactly the declared data, a compressed
// file at most 1032 times its size and 1<<30 elements.
func ReadIDX(path string) (IDX, error) {
	raw, err := readIDXFile(path)
	if err != nil {
		return IDX{}, err
	}
	return raw.toIDX(path)
}

// ReadIDXFrom is like ReadIDX but reads the (raw or gzip-compressed) IDX data
// from r; name identifies the input in error messages. Since the size of r
// is unknown, the declared dimensions may hold at most 1<<30 elements.
func ReadIDXFrom(r io.Reader, name string) (IDX, error) {
	raw, err := readIDX(r, name, -1)
	if err != nil {
		return IDX{}, err
	}
	return raw.toIDX(name)
}

// idxRaw is a validated IDX array with its data still encoded.
type idxRaw struct {
	typ  IDXType
	dims []int
	n    int    // element count, the product of dims
	data []byte // n * typ.Size() bytes
}

// readIDXFile reads the raw IDX array at path.
func readIDXFile(path string) (idxRaw, error) {
	f, size, err := open(path)
	if err != nil {
		return idxRaw{}, err
	}
	defer f.Close()
	return readIDX(f, path, size)
}

// readIDX reads an IDX array from r, decompressing gzip data; size is the
// size of r in bytes, or -1 if it is unknown.
func readIDX(r io.Reader, name string, size int64) (idxRaw, error) {
	br := bufio.NewReaderSize(r, chunkBytes)
	magic, _ := br.Peek(2)
	var src io.Reader = br
	compressed := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if compressed {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return idxRaw{}, fmt.Errorf("data: %s: %w", name, gzipErr(err, "truncated gzip header"))
		}
		defer zr.Close()
		src = zr
	}
	raw, err := readIDXData(src, size, compressed)
	if err != nil {
		return idxRaw{}, fmt.Errorf("data: %s: %w", name, err)
	}
	return raw, nil
}

// readIDXData reads the header and data of an uncompressed IDX stream. size
// is the size of the (possibly compressed) input, or -1 if it is unknown.
func readIDXData(r io.Reader, size int64, compressed bool) (idxRaw, error) {
	var hdr [4 + 4*MaxIDXDims]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return idxRaw{}, gzipErr(err, "file too short for an IDX header")
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return idxRaw{}, fmt.Errorf("%w: bad magic %#x, not an IDX file", ErrIDX, hdr[:4])
	}
	typ, ndims := IDXType(hdr[2]), int(hdr[3])
	esize := typ.Size()
	if esize == 0 {
		return idxRaw{}, fmt.Errorf("%w: unknown element type 0x%02x", ErrIDX, hdr[2])
	}
	if ndims == 0 || ndims > MaxIDXDims {
		return idxRaw{}, fmt.Errorf("%w: %d dimensions, want 1 to %d", ErrIDX, ndims, MaxIDXDims)
	}
	hlen := 4 + 4*ndims
	if _, err := io.ReadFull(r, hdr[4:hlen]); err != nil {
		return idxRaw{}, gzipErr(err, "truncated header")
	}
	dims := make([]int, ndims)
	n := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(hdr[4+4*i:])
		dims[i] = int(d)
		if d == 0 {
			return idxRaw{}, fmt.Errorf("%w: dimension %d of %s is zero", ErrIDX, i, dimString(dims[:i+1]))
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64/8 {
			return idxRaw{}, fmt.Errorf("%w: element count of dimensions %s overflows", ErrIDX, dimString(dims[:i+1]))
		}
		n = lo
	}
	nbytes := int64(n) * int64(esize) // cannot overflow: n <= MaxInt64/8
	switch {
	case !compressed && size >= 0:
		switch avail := size - int64(hlen); {
		case nbytes > avail:
			return idxRaw{}, fmt.Errorf("%w: dimensions %s of %s need %d data bytes, file holds %d", ErrIDX, dimString(dims), typ, nbytes, avail)
		case nbytes < avail:
			return idxRaw{}, fmt.Errorf("%w: %d trailing bytes after the data of dimensions %s", ErrIDX, avail-nbytes, dimString(dims))
		}
	case n > maxIDXStreamElems:
		return idxRaw{}, fmt.Errorf("%w: dimensions %s declare %d elements, more than the %d allowed for a stream or compressed file", ErrIDX, dimString(dims), n, maxIDXStreamElems)
	case size >= 0 && uint64(nbytes+int64(hlen)) > maxDeflateRatio*uint64(size):
		return idxRaw{}, fmt.Errorf("%w: dimensions %s of %s need %d data bytes, more than a %d-byte gzip file can hold", ErrIDX, dimString(dims), typ, nbytes, size)
	}
	if n > math.MaxInt {
		return idxRaw{}, fmt.Errorf("%w: element count of dimensions %s overflows", ErrIDX, dimString(dims))
	}

	// Memory follows the data actually read unless the size was checked.
	hint := nbytes
	if compressed || size < 0 {
		hint = min(nbytes, chunkBytes)
	}
	data := make([]byte, 0, hint)
	for int64(len(data)) < nbytes {
		if len(data) == cap(data) {
			data = slices.Grow(data, int(min(nbytes, 2*int64(cap(data))))-len(data))
		}
		m, err := r.Read(data[len(data):min(int64(cap(data)), nbytes)])
		data = data[:len(data)+m]
		if err == io.EOF && int64(len(data)) < nbytes {
			err = io.ErrUnexpectedEOF
		}
		switch {
		case err == nil || err == io.EOF:
		case int64(len(data)) == nbytes:
			return idxRaw{}, gzipErr(err, "unexpected end of input after the data")
		default:
			return idxRaw{}, gzipErr(err, fmt.Sprintf("truncated data, got %d of %d elements", len(data)/esize, n))
		}
	}
	var one [1]byte
	switch m, err := io.ReadFull(r, one[:]); {
	case m > 0:
		return idxRaw{}, fmt.Errorf("%w: trailing bytes after the data of dimensions %s", ErrIDX, dimString(dims))
	case err != io.EOF:
		return idxRaw{}, gzipErr(err, "unexpected end of input after the data")
	}
	return idxRaw{typ: typ, dims: dims, n: int(n), data: data}, nil
}

// gzipErr turns an unexpected end of input into an ErrIDX error saying msg,
// marks corrupt gzip data as ErrIDX and passes other read errors through.
func gzipErr(err error, msg string) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %s", ErrIDX, msg)
	case errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &ce):
		return fmt.Errorf("%w: corrupt gzip data: %w", ErrIDX, err)
	}
	return err
}

// at returns element i as a float64.
func (raw *idxRaw) at(i int) float64 {
	b := raw.data
	switch raw.typ {
	case IDXUint8:
		return float64(b[i])
	case IDXInt8:
		return float64(int8(b[i]))
	case IDXInt16:
		return float64(int16(binary.BigEndian.Uint16(b[2*i:])))
	case IDXInt32:
		return float64(int32(binary.BigEndian.Uint32(b[4*i:])))
	case IDXFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b[4*i:])))
	case IDXFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
	}
	return math.NaN() // unreachable: readIDXData accepts known types only
}

// toIDX converts the data to float64; name identifies the input in errors.
func (raw *idxRaw) toIDX(name string) (IDX, error) {
	out := IDX{Type: raw.typ, Dims: raw.dims, Data: make([]float64, raw.n)}
	if raw.typ == IDXUint8 {
		for i, b := range raw.data {
			out.Data[i] = float64(b)
		}
		return out, nil
	}
	for i := range out.Data {
		v := raw.at(i)
		if raw.typ.isFloat() && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return IDX{}, fmt.Errorf("data: %s: %w: %v at element %d (0-based)", name, ErrNonFinite, v, i)
		}
		out.Data[i] = v
	}
	return out, nil
}

// dimString formats IDX dimensions as 60000×28×28.
func dimString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "×")
}
